"""Resident memory of a MiniLM store with many memories, and how it grows with users
(issue 32, part 5). Not part of CI; figures go to docs/benchmarks.md.

    python memorable-py/bench/bench_memory.py [--memories 100000] [--dir DIR] [--keep]

Run it with an interpreter that has `memorable` installed (`memorable-py/test.sh` leaves one
in target/py-venv) and MiniLM in the model cache (scripts/fetch-model.sh); the texts are
GoEmotions' (`../shared/data/goemotions/{train,dev}.tsv`), repeated with a numbered suffix past
their ~48k distinct texts, so every memory has its own MiniLM vector.

1. Build (once, in DIR): half of the memories for one user `big`, the other half for users of
   1,000 each; `remember_batch` with the emotional layer off (the classifier does not change
   what a store holds in memory once built, and would triple the build time), then `close`
   (which dumps every index).
2. Each scenario runs in a fresh process on that store, with the default configuration
   except where named, and reads VmRSS / VmHWM from /proc/self/status after each stage:
   open; the first recall of `big` (its dump loads in the background, its vectors are
   searched exactly meanwhile); that load finished; a recall of every user (every index
   loaded, up to `max_loaded_indexes` / `max_index_memory_mb`); 200 more recalls of `big`
   (p50 reported). `--scenarios default,8,mb512` (the default) names the configurations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "goemotions"


def rss() -> tuple[float, float, float]:
    """(VmRSS, VmHWM, RssAnon) of this process in MB. RSS counts the store's database pages
    mapped by SQLite's mmap (file-backed, shared, reclaimable by the kernel); RssAnon is the
    process's own memory."""
    v = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
            k, n = line.split()[:2]
            v[k] = int(n) / 1024
    return v["VmRSS:"], v["VmHWM:"], v["RssAnon:"]


def texts(n: int) -> list[str]:
    seen: dict[str, None] = {}
    for name in ("train.tsv", "dev.tsv"):
        for line in (DATA / name).read_text().splitlines():
            t = line.split("\t")[0].strip()
            if t:
                seen.setdefault(t, None)
    base = list(seen)
    return [base[i % len(base)] + ("" if i < len(base) else f" ({i // len(base)})") for i in range(n)]


def build(dir_: Path, n: int) -> None:
    import memorable

    all_texts = texts(n)
    half = n // 2
    mem = memorable.Memorable.open(dir_, emotion={"enabled": False})
    t0 = time.perf_counter()
    step = 2_000
    for i in range(0, n, step):
        items = []
        for j in range(i, min(i + step, n)):
            user = "big" if j < half else f"u{(j - half) // 1000:03d}"
            items.append({"text": all_texts[j], "user": user})
        mem.remember_batch(items)
        print(f"  built {min(i + step, n)} / {n} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    mem.close()


def scenario(dir_: Path, name: str) -> dict:
    """`default`, `N` (max_loaded_indexes N) or `mbN` (max_index_memory_mb N)."""
    import memorable

    out: dict = {}
    out["start"] = rss()
    if name == "default":
        config = {}
    elif name.startswith("mb"):
        config = {"max_index_memory_mb": int(name[2:])}
    else:
        config = {"max_loaded_indexes": int(name)}
    t = time.perf_counter()
    mem = memorable.Memorable.open(dir_, **config)
    out["open_s"] = time.perf_counter() - t
    out["open"] = rss()
    t = time.perf_counter()
    mem.recall("a day at the beach with my dog", user="big", limit=10)
    out["first_recall_big_s"] = time.perf_counter() - t
    out["first_recall_big"] = rss()
    while True:
        idx = [i for i in mem.stats()["loaded_indexes"] if i["user"] == "big"][0]
        if idx["pending"] == 0:
            break
        time.sleep(0.1)
    out["big_loaded_s"] = time.perf_counter() - t
    out["big_loaded"] = rss()
    out["big_index"] = idx
    users = [u["user"] for u in mem.users()]
    for u in users:
        mem.recall("I can't believe how kind they were", user=u, limit=10)
    out["users"] = len(users)
    out["all_users_recalled"] = rss()
    out["loaded_indexes"] = len(mem.stats()["loaded_indexes"])
    lat = []
    for k in range(200):
        t = time.perf_counter()
        mem.recall(f"what made me so happy last week {k}", user="big", limit=10)
        lat.append(time.perf_counter() - t)
    out["recall_big_p50_ms"] = statistics.median(lat) * 1e3
    out["end"] = rss()
    out["model"] = mem.stats()["embedder"]["model_id"]
    mem.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=100_000)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the built store in --dir")
    ap.add_argument(
        "--scenarios",
        default="default,8,mb512",
        help="comma-separated: default, N (max_loaded_indexes N), mbN (max_index_memory_mb N)",
    )
    ap.add_argument("--scenario", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scenario is not None:
        print(json.dumps(scenario(args.dir, args.scenario)))
        return
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="memorable-rss-")
        args.dir = Path(tmp.name) / "store"
    if not (args.dir / "memorable.db").exists():
        print(f"building {args.memories} memories in {args.dir}", file=sys.stderr)
        build(args.dir, args.memories)
    disk = sum(f.stat().st_size for f in args.dir.rglob("*") if f.is_file())
    print(f"store on disk: {disk / 2**20:.1f} MiB", file=sys.stderr)
    results = {}
    for name in args.scenarios.split(","):
        p = subprocess.run(
            [sys.executable, __file__, "--scenario", name, "--dir", str(args.dir)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(p.stdout.strip().splitlines()[-1])
    for name, r in results.items():
        label = {"default": "max_loaded_indexes 64 (default)"}.get(name) or (
            f"max_index_memory_mb {name[2:]}" if name.startswith("mb") else f"max_loaded_indexes {name}"
        )
        print(f"\n{label}: {r['users']} users, {r['loaded_indexes']} indexes loaded at the end, model {r['model']}")
        for stage in ("start", "open", "first_recall_big", "big_loaded", "all_users_recalled", "end"):
            now, peak, anon = r[stage]
            print(f"  {stage:<20} RSS {now:8.1f} MB   peak {peak:8.1f} MB   anonymous {anon:8.1f} MB")
        print(
            f"  open {r['open_s']:.2f} s, first recall of big {r['first_recall_big_s'] * 1e3:.0f} ms, "
            f"its graph loaded after {r['big_loaded_s']:.1f} s ({r['big_index']['points']} points), "
            f"recall p50 {r['recall_big_p50_ms']:.2f} ms"
        )
    if tmp is not None and not args.keep:
        tmp.cleanup()


if __name__ == "__main__":
    main()
