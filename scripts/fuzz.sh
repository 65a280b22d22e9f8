#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer through cargo-fuzz; needs a nightly toolchain and
# `cargo install cargo-fuzz`). Each target runs for SECONDS (default 300) on one core, with a
# corpus seeded from the test fixtures; a crashing input lands in fuzz/artifacts/<target>/
# (commit it: it becomes a regression case) and the script fails.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # targets: see fuzz/Cargo.toml
#
# CI runs the same parsers as property tests (memorable-core/tests/fuzz.rs) instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-300}"
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(hume_message wav config jsonl_import backup_verify registry)
cd "$root/fuzz"
mkdir -p corpus/hume_message corpus/config corpus/registry
# Seeds: the recorded Hume session a message a file, the default configuration, the manifest.
n=0
while IFS= read -r line; do
  n=$((n + 1)); printf '%s' "$line" > "corpus/hume_message/seed-$n"
done < "$root/tests/fixtures/hume/recorded.jsonl"
cp "$root/models/manifest.json" corpus/registry/seed-manifest
printf '{"embedder": "hashing", "hnsw": {"m": 8}, "windows": {"short_secs": 60}}' > corpus/config/seed
# A real backup (needs the CLI: $MEMORABLE_BIN, else the release build) and a real WAV.
mkdir -p corpus/backup_verify corpus/wav corpus/jsonl_import
bin="${MEMORABLE_BIN:-$( (ls "$root"/target/*/release/memorable "$root"/target/release/memorable 2>/dev/null || true) | head -1)}"
if [[ -x "$bin" && ! -e corpus/backup_verify/seed.mrbak ]]; then
  store="$(mktemp -d)"
  "$bin" --store "$store/s" --embedder hashing remember --user seed "a memory to back up" >/dev/null
  "$bin" --store "$store/s" --embedder hashing backup "$root/fuzz/corpus/backup_verify/seed.mrbak" >/dev/null
  "$bin" --store "$store/s" --embedder hashing export --user seed --out "$root/fuzz/corpus/jsonl_import/seed.jsonl" >/dev/null 2>&1 || true
  rm -rf "$store"
fi
python3 - "$root/fuzz/corpus/wav/seed.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(22050)
    w.writeframes(b"".join(struct.pack("<hh", int(8000 * math.sin(i / 9)), 0) for i in range(2000)))
PY
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t ($secs s)"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 2>&1 \
    | grep -E "^#[0-9]+.*(DONE|pulse)|Done [0-9]+ runs|ERROR|panicked|SUMMARY" | tail -3
done
