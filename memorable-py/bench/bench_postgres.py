"""remember / recall throughput and latency with 1, 4 and 16 client processes on one
PostgreSQL store on loopback, beside the embedded SQLite store (a directory) in the same run
(issue 28). The hashing embedder, so the store, not the model, is measured. Not part of CI;
figures go to docs/benchmarks.md.

    python memorable-py/bench/bench_postgres.py --url postgres://... [--clients 1,4,16]
        [--users 16] [--seed-memories 2000] [--seconds 5]

Run it with an interpreter that has `memorable` installed (`memorable-py/test.sh` leaves one
in target/py-venv) and a cluster (`eval "$(scripts/pg-cluster.sh start)"` and pass
`--url "$MEMORABLE_TEST_PG_URL"`: the script makes and drops a database of its own).

Each client is a process with its own handle (on PostgreSQL, its own instance); each works on
its own users (a user per client, round robin over `--users`), as application servers behind a
load balancer that routes by user. Phase 1 seeds `--seed-memories` per user; phase 2 runs
`remember` (one memory a call) for `--seconds`; phase 3 runs `recall` (limit 10) for
`--seconds`. A directory store admits one process, so its N clients are N threads of one
process sharing one handle.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Any

from memorable import Memorable

WORDS = (
    "garden kitchen guitar river window coffee bicycle mountain letter market violin "
    "holiday sister brother teacher doctor lemon winter summer forest museum novel"
).split()


def text(i: int) -> str:
    w = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(8)]
    return f"note {i}: " + " ".join(w)


def open_store(location: str) -> Memorable:
    return Memorable.open(location, embedder="hashing", generator="none")


def work(location: str, user: str, phase: str, seconds: float, start_at: float, offset: int) -> list[float]:
    """Latencies (ms) of one client's calls in `phase`, from `start_at` for `seconds`."""
    mem = open_store(location)
    lat: list[float] = []
    # Warm: the user's index loads once, outside the timed window.
    mem.recall("garden coffee", user=user, limit=10)
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    i = offset
    while time.time() < end:
        t = time.perf_counter()
        if phase == "remember":
            mem.remember(text(i), user=user)
        else:
            mem.recall(f"{WORDS[i % len(WORDS)]} {WORDS[(i * 3) % len(WORDS)]}", user=user, limit=10)
        lat.append((time.perf_counter() - t) * 1000)
        i += 1
    mem.close()
    return lat


def _proc(args: tuple[Any, ...]) -> list[float]:
    return work(*args)


def run_phase(location: str, clients: int, users: int, phase: str, seconds: float, processes: bool) -> dict[str, float]:
    start_at = time.time() + 3.0
    jobs = [(location, f"user{c % users}", phase, seconds, start_at, 1_000_000 * (c + 1)) for c in range(clients)]
    if processes:
        with mp.get_context("spawn").Pool(clients) as pool:
            results = pool.map(_proc, jobs)
    else:
        # One handle shared by threads (a directory store admits one process).
        mem = open_store(location)
        results = [[] for _ in jobs]

        def thread(k: int) -> None:
            loc, user, ph, secs, at, offset = jobs[k]
            mem.recall("garden coffee", user=user, limit=10)
            while time.time() < at:
                time.sleep(0.001)
            i = offset
            while time.time() < at + secs:
                t = time.perf_counter()
                if ph == "remember":
                    mem.remember(text(i), user=user)
                else:
                    mem.recall(f"{WORDS[i % len(WORDS)]} {WORDS[(i * 3) % len(WORDS)]}", user=user, limit=10)
                results[k].append((time.perf_counter() - t) * 1000)
                i += 1

        threads = [threading.Thread(target=thread, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        mem.close()
    lat = sorted(x for r in results for x in r)
    return {
        "calls_per_s": len(lat) / seconds,
        "p50_ms": statistics.median(lat),
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
    }


def seed(location: str, users: int, n: int) -> None:
    mem = open_store(location)
    for u in range(users):
        for start in range(0, n, 500):
            mem.remember_batch([{"text": text(i), "user": f"user{u}"} for i in range(start, min(n, start + 500))])
    mem.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="an admin URL of the cluster (a database is made and dropped)")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--users", type=int, default=16)
    ap.add_argument("--seed-memories", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", a.url, "-qc", f"CREATE DATABASE {name}"], check=True)
    pg = a.url.rsplit("/", 1)[0] + "/" + name
    results: dict[str, Any] = {"cpus": os.cpu_count(), "users": a.users, "seed_memories": a.seed_memories}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stores = {"sqlite": os.path.join(tmp, "store"), "postgres": pg}
            for backend, location in stores.items():
                seed(location, a.users, a.seed_memories)
            for clients in [int(c) for c in a.clients.split(",")]:
                for backend, location in stores.items():
                    for phase in ("remember", "recall"):
                        r = run_phase(location, clients, a.users, phase, a.seconds, backend == "postgres")
                        results[f"{backend}/{phase}/{clients}"] = r
                        print(
                            f"{backend:8} {phase:8} clients={clients:2}  {r['calls_per_s']:8.0f} calls/s  "
                            f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms",
                            flush=True,
                        )
    finally:
        subprocess.run(["psql", a.url, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
