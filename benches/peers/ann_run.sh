#!/usr/bin/env bash
# The engine's own HNSW against hnswlib and faiss on the same MiniLM vectors, in one run on this
# machine (issue 32, parts 3 and 4): `cargo bench --bench ann` (which embeds the GoEmotions texts
# once, writes base / queries / exact top 10 to target/ann/) and benches/peers/ann_peers.py,
# alternating for N rounds (default 2), best queries/s per ef. Prints per system the recall@10 and
# queries/s at each ef, and the fastest setting reaching recall 0.95 and 0.99. Not part of CI.
#
#   benches/peers/ann_run.sh [ROUNDS] [million]
#
# With `million`: the 1M jittered set of benches/ann.rs (`--million`), hnswlib only (faiss'
# single-threaded build of 1M takes longer than the rest together).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
rounds="${1:-2}"
rust_args=(--json)
py_args=()
if [[ "${2:-}" == million ]]; then
  rust_args+=(--million)
  py_args=(--million --no-faiss)
fi
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
cd "$repo"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then
    cargo bench --bench ann -- "${rust_args[@]}" 2>/dev/null | tail -1 >>"$out"
    "$venv/bin/python" benches/peers/ann_peers.py "${py_args[@]}" >>"$out"
  else
    "$venv/bin/python" benches/peers/ann_peers.py "${py_args[@]}" >>"$out"
    cargo bench --bench ann -- "${rust_args[@]}" 2>/dev/null | tail -1 >>"$out"
  fi
  echo "round $r done" >&2
done
"$venv/bin/python" - "$out" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    b = best.setdefault(o["system"], {"build_s": o["build_s"], "sweep": {}})
    b["build_s"] = min(b["build_s"], o["build_s"])
    for row in o["sweep"]:
        cur = b["sweep"].setdefault(row["ef"], row)
        cur["qps"] = max(cur["qps"], row["qps"])
for name, b in best.items():
    print(f"\n{name} (build {b['build_s']:.1f} s, one thread)")
    for ef, row in sorted(b["sweep"].items()):
        print(f"  ef {ef:>4}: recall@10 {row['recall']:.4f}  {row['qps']:>8.0f} queries/s")
print("\nfastest setting at each recall target (queries/s, one thread):")
for target in (0.95, 0.99):
    cells = []
    for name, b in best.items():
        ok = [r for r in b["sweep"].values() if r["recall"] >= target and r["ef"] > 0]
        if ok:
            r = max(ok, key=lambda r: r["qps"])
            cells.append(f"{name}: {r['qps']:.0f} (ef {r['ef']}, {r['recall']:.4f})")
    print(f"  recall >= {target}: " + "; ".join(cells))
PY
