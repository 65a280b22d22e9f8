#!/usr/bin/env bash
# MemoRable against embedded peers in one run on this machine (issue 32, part 4): LoCoMo end to
# end (ingest, query latency, R@10, disk, peak RSS) for MemoRable's Python binding, LanceDB and
# Chroma with the same MiniLM weights. Not part of CI; figures go to docs/benchmarks.md.
#
#   benches/peers/run.sh [--data FILE] [--repeats N] [--systems a,b] [--json out.json]
#
# Makes a virtualenv under target/peers-venv from PyPI (benches/peers/requirements.txt), installs
# the binding from this checkout (target/wheels/ from memorable-py/test.sh when present, else
# `pip install ./memorable-py`), and needs MiniLM in the model cache (scripts/fetch-model.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
wheel=$(ls -t "$repo"/target/wheels/memorable-*-abi3-*.whl 2>/dev/null | head -1 || true)
if [[ -n "$wheel" ]]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel" </dev/null
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$repo/memorable-py" </dev/null
fi
# The parity check of the numpy MiniLM calls the CLI's `embed`.
export MEMORABLE_BIN="${MEMORABLE_BIN:-$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release/memorable}"
exec "$venv/bin/python" "$repo/benches/peers/peers.py" "$@"
