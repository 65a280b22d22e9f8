#!/usr/bin/env bash
# The deployment's build step (vercel.json `buildCommand`): build memorable-node's native
# addon for the functions' platform, Linux x64 with glibc (Vercel runs Node functions on
# Amazon Linux 2023). Needs the whole repository (the addon builds inside its cargo
# workspace): deploy with this folder as the project's root directory and files outside it
# included in the build (Vercel's default).
#
#   MEMORABLE_FETCH_MODEL=minilm bash build.sh   # also bundle MiniLM into ./models (README)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# A C compiler and OpenSSL's headers (the bundled SQLCipher links the system libcrypto);
# the build image has dnf, a developer machine its own packages.
if ! command -v cc >/dev/null || [[ ! -e /usr/include/openssl/ssl.h ]]; then
  if command -v dnf >/dev/null; then
    dnf install -y gcc openssl-devel
  else
    echo "build.sh: install a C compiler and OpenSSL's development files first" >&2
    exit 1
  fi
fi

# Rust (>= 1.89), when the image has none.
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  source "$HOME/.cargo/env"
fi

cd "$repo/memorable-node"
npm ci --ignore-scripts --no-audit --no-fund
npx napi build --platform --release --target x86_64-unknown-linux-gnu
ls -l "$repo/memorable-node/memorable.linux-x64-gnu.node"

# The static output: one page; the functions are under /api.
mkdir -p "$here/public"
printf '%s\n' '<!doctype html><title>MemoRable</title><p>MemoRable functions: /api/remember, /api/recall, /api/forget, /api/emotional-state.</p>' \
  > "$here/public/index.html"

# Optional: the sentence-embedding model, bundled with the functions (MEMORABLE_MODEL_DIR=models).
if [[ -n "${MEMORABLE_FETCH_MODEL:-}" ]]; then
  MEMORABLE_MODEL_DIR="$here/models" "$repo/scripts/fetch-model.sh" "$MEMORABLE_FETCH_MODEL"
fi
