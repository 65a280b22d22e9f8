"""Where a MemoRable store's bytes go (issue 32, part 6): ingest the LoCoMo dev turns as
`peers.py` does (Python binding, defaults), then list the store's files and SQLite's `dbstat`
by table and index. Not part of CI.

    target/peers-venv/bin/python benches/peers/disk_breakdown.py [--data FILE] [--no-emotion]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=peers.REPO.parent / "shared/data/locomo/locomo-dev.json")
    ap.add_argument("--no-emotion", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        peers.run_memorable(peers.load(args.data), work, emotion=not args.no_emotion)
        store = work / "store"
        total = 0
        for p in sorted(store.rglob("*")):
            if p.is_file():
                total += p.stat().st_size
                print(f"{p.stat().st_size:>12,} {p.relative_to(store)}")
        print(f"{total:>12,} total")
        db = sqlite3.connect(store / "memorable.db")
        print("\nSQLite pages by table or index (dbstat):")
        for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 15"):
            print(f"{size:>12,} {name}")


if __name__ == "__main__":
    main()
