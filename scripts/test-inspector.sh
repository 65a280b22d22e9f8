#!/usr/bin/env bash
# The web inspector in a real browser (tests/inspector/inspector.test.mjs): Debian's Chromium,
# headless, driven by playwright-core (npm; it never downloads a browser), against
# `memorable serve` on a loopback port. Screenshots land in target/inspector-artifacts.
#
#   scripts/test-inspector.sh
#   MEMORABLE_UPDATE_DOCS_IMAGES=1 scripts/test-inspector.sh   # also refresh docs/images/inspector.png
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export MEMORABLE_BIN="${MEMORABLE_BIN:-$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/memorable}"
export INSPECTOR_ARTIFACTS="${INSPECTOR_ARTIFACTS:-$CARGO_TARGET_DIR/inspector-artifacts}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
[[ -x "$CHROMIUM" ]] || { echo "no Chromium at $CHROMIUM: apt-get install chromium (or set CHROMIUM)" >&2; exit 1; }
cargo build --release --quiet --bin memorable
(cd tests/inspector && npm ci --no-fund --no-audit --loglevel=error)
cd tests/inspector
exec node --test --test-concurrency=1 inspector.test.mjs
