"""Consolidation of one LoCoMo session with the local generator: time, and what it wrote.

    python3 scripts/bench-consolidate-locomo.py [--conversation 0] [--session 1]
        [--generator smollm2] [--memorable target/.../release/memorable]
        [--locomo ../shared/data/locomo/locomo-dev.json]

Remembers the session's turns in a fresh store with the CLI (hashing embedder: the
embedder plays no part here), then times `memorable consolidate --json` and prints the
report (path, summaries, facts). The figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from datetime import datetime, timezone


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversation", type=int, default=0)
    ap.add_argument("--session", type=int, default=1)
    ap.add_argument("--generator", default="smollm2")
    ap.add_argument("--memorable", default=os.environ.get("MEMORABLE_BIN", os.path.join(repo, "target/release/memorable")))
    ap.add_argument("--locomo", default=os.path.join(repo, "../shared/data/locomo/locomo-dev.json"))
    args = ap.parse_args()

    conv = json.load(open(args.locomo))[args.conversation]["conversation"]
    turns = conv[f"session_{args.session}"]
    when = datetime.strptime(conv[f"session_{args.session}_date_time"], "%I:%M %p on %d %B, %Y")
    when = when.replace(tzinfo=timezone.utc)
    with tempfile.TemporaryDirectory() as store:
        base = [args.memorable, "--store", store, "--embedder", "hashing", "--generator", args.generator]
        for i, t in enumerate(turns):
            at = when.replace(second=min(i, 59)).isoformat().replace("+00:00", "Z")
            subprocess.run(base + ["remember", "--user", "u", "--session", f"s{args.session}", "--speaker",
                                   t["speaker"], "--at", at, t["text"]], check=True, capture_output=True)
        started = time.perf_counter()
        out = subprocess.run(base + ["--json", "consolidate", "--user", "u"], check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
    report = json.loads(out.stdout)
    print(f"conversation {args.conversation} session {args.session}: {len(turns)} turns, generator {args.generator}")
    print(f"wall {wall:.2f} s (CLI, model load included); job {report['duration_ms'] / 1e3:.2f} s; path {report['path']}")
    for s in report["summaries"]:
        print(f"summary [{s['path']}] from {len(s['derived_from'])} turns: {s['text']}")
    for f in report["facts"]:
        print(f"fact [{f['path']}] from {f['derived_from']}: {f['text']}")
    for w in report["warnings"]:
        print(f"warning: {w}")


if __name__ == "__main__":
    main()
