#!/usr/bin/env bash
# MiniLM embedding: MemoRable's native forward (f32 and minilm-int8) against ONNX Runtime (f32 and
# its dynamic int8), in one run on this machine (issue 32, part 4). Not part of CI; figures go to
# docs/benchmarks.md.
#
#   benches/peers/embed_run.sh [--rounds N]
#
# Uses the virtualenv of run.sh (target/peers-venv, PyPI: benches/peers/requirements.txt) and
# builds the Rust bench benches/int8.rs; needs MiniLM in the model cache (scripts/fetch-model.sh)
# and ../shared/data/goemotions/train.tsv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
bench=$(cd "$repo" && cargo bench --bench int8 --no-run --message-format=json 2>/dev/null \
  | "$venv/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "int8" and m.get("executable"):
        print(m["executable"])')
exec "$venv/bin/python" "$repo/benches/peers/embed_peers.py" --int8-bench "$bench" "$@"
