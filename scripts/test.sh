#!/usr/bin/env bash
# Run every test of MemoRable: Rust (unit, integration, doc tests), C (plain, ASan/UBSan,
# valgrind, examples), Python (fresh venv, pip install, mypy, pytest) and Node (npm install,
# node:test, TypeScript, consumer install) and the generation role against llama.cpp
# (scripts/test-llm-server.sh: greedy parity, its OpenAI-compatible server, faults), and MCP
# with the official Python SDK as the client (scripts/test-mcp.sh), and the web inspector in
# Debian's Chromium (scripts/test-inspector.sh).
#
#   scripts/test.sh            # everything
#   scripts/test.sh rust c     # a subset: any of rust, c, python, node, llm, mcp, inspector
#
# Everything builds in the release profile into one target dir, so the core compiles once.
# Tests that read ../shared/data run when that folder exists; the summary says which ran.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
# The napi CLI always builds with --target <triple>; building everything for the explicit
# host triple puts cargo test, the C library, maturin and napi in one target/<triple>/release,
# so the dependency tree compiles once (workspace-hack/ keeps their feature sets equal too).
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export MEMORABLE_BIN="$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/release/memorable"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

suites=("$@")
[[ ${#suites[@]} -eq 0 ]] && suites=(rust c python node llm mcp inspector)

passed=0
failed=0
results=()
run() {
  local name="$1"; shift
  printf '\n========== %s ==========\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); results+=("ok    $name ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $name ($((SECONDS - start)) s)")
  fi
}

if [[ -d "$repo/../shared/data" ]]; then
  export MEMORABLE_SHARED_DATA="$repo/../shared/data"
  shared_note="../shared/data found: data-driven checks enabled"
else
  shared_note="../shared/data absent: data-driven checks not run"
fi

# The PostgreSQL store's tests (every suite has some) need a server: a throwaway cluster
# unless one is named. MEMORABLE_SKIP_PG=1 skips them instead (they say so).
if [[ -z "${MEMORABLE_TEST_PG_URL:-}" && "${MEMORABLE_SKIP_PG:-}" != 1 ]]; then
  eval "$(scripts/pg-cluster.sh start)" || { echo "cannot start a PostgreSQL cluster (scripts/pg-cluster.sh)"; exit 1; }
  trap 'scripts/pg-cluster.sh stop "$PG_CLUSTER_DIR"' EXIT
  pg_note="PostgreSQL: a throwaway cluster on ${MEMORABLE_TEST_PG_URL##*@}"
elif [[ -n "${MEMORABLE_TEST_PG_URL:-}" ]]; then
  pg_note="PostgreSQL: the cluster named by MEMORABLE_TEST_PG_URL"
else
  pg_note="PostgreSQL: MEMORABLE_SKIP_PG=1, its tests skipped"
fi

for suite in "${suites[@]}"; do
  case "$suite" in
    rust)
      run "rust: release CLI" cargo build --release --bin memorable
      run "rust: cargo test (workspace default members)" cargo test --release --workspace
      run "rust: kill -9 cycles on an encrypted store (20)" env MEMORABLE_KEY=crash-cycles-key \
        MEMORABLE_CRASH_CYCLES=20 cargo test --release --test crash_cycles
      run "rust: examples/quickstart.rs" cargo run --release --quiet --example quickstart
      run "rust: examples/emotion.rs" cargo run --release --quiet --example emotion
      ;;
    c) run "c: make -C memorable-c test" make -C memorable-c test ;;
    python) run "python: memorable-py/test.sh" memorable-py/test.sh ;;
    node) run "node: memorable-node/test.sh" memorable-node/test.sh ;;
    llm) run "llm: scripts/test-llm-server.sh" scripts/test-llm-server.sh ;;
    mcp) run "mcp: scripts/test-mcp.sh" scripts/test-mcp.sh ;;
    inspector) run "inspector: scripts/test-inspector.sh" scripts/test-inspector.sh ;;
    *) echo "unknown suite: $suite (use rust, c, python, node, llm, mcp, inspector)"; exit 2 ;;
  esac
done

printf '\n========== summary ==========\n'
printf '%s\n' "${results[@]}"
echo "$shared_note"
echo "$pg_note"
echo "suites: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
