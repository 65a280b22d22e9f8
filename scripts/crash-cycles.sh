#!/usr/bin/env bash
# The kill -9 harness at full length: 1,000 cycles of a writer process (remember, batches,
# update, forget, emotion readings, checkpoint, backup) killed with SIGKILL at a random moment,
# each followed by the checks of tests/crash_cycles.rs. CI runs 50 cycles of the same harness.
#
#   scripts/crash-cycles.sh [CYCLES] [SEED]      # defaults: 1000, 20261206
#
# Results go into docs/reliability.md (cycles, seed, operations, time, machine).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MEMORABLE_CRASH_CYCLES="${1:-1000}" MEMORABLE_CRASH_SEED="${2:-20261206}"
cd "$root"
exec cargo test --release --test crash_cycles
