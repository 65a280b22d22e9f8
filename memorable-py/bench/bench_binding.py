"""Recall latency and batch-ingest time through the Python binding.

    python memorable-py/bench/bench_binding.py [--memories 10000] [--queries 500]

Builds an on-disk store (default config, hashing embedder pinned with `embedder="hashing"`:
the default "auto" would pick MiniLM when cached, timing the model instead of the binding)
of N memories for one user with
`remember_batch` (timed: N dicts in one call), then times `recall(limit=10)` from Python,
one call at a time, and prints p50 / mean / p95 per recall. Compare the p50 with criterion's
number for the core's recall on the same store shape to get the binding's overhead ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

import memorable
from memorable import Memorable

WORDS = (
    "coffee tea puppy biscuit report friday meeting dentist ramen train paris lyon garden "
    "birthday sister brother mother father movie book guitar piano running swimming bike "
    "holiday beach mountain rain snow sunny project deadline budget invoice doctor gym "
    "pizza pasta salad cake recipe kitchen office laptop phone email call message friend"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(42)
    items = [
        {"text": f"note {i}: {sentence(rng, 12)}", "user": "bench", "session": f"s{i % 50}"}
        for i in range(args.memories)
    ]
    queries = [sentence(rng, 4) for _ in range(args.queries)]

    with tempfile.TemporaryDirectory() as path, Memorable.open(path, embedder="hashing") as mem:
        t0 = time.perf_counter()
        ids = mem.remember_batch(items)
        batch_s = time.perf_counter() - t0
        assert len(ids) == args.memories

        for q in queries[:20]:  # warm-up: loads the user's index, warms SQLite's cache
            mem.recall(q, user="bench", limit=10)
        times = []
        for q in queries:
            t = time.perf_counter()
            hits = mem.recall(q, user="bench", limit=10)
            times.append(time.perf_counter() - t)
            assert len(hits) == 10
        times_ms = sorted(x * 1e3 for x in times)

        # Floor of a call through the binding: a primary-key read plus one Memory conversion.
        get_times = []
        for i in rng.sample(ids, 500):
            t = time.perf_counter()
            mem.get(i)
            get_times.append((time.perf_counter() - t) * 1e6)

    p50 = statistics.median(times_ms)
    p95 = times_ms[int(0.95 * (len(times_ms) - 1))]
    print(f"memorable {memorable.__version__} Python binding benchmark")
    print(f"remember_batch of {args.memories:,} dicts: {batch_s:.3f} s "
          f"({args.memories / batch_s:,.0f} memories/s)")
    print(f"recall(limit=10) at {args.memories:,} memories, {len(times_ms)} queries: "
          f"p50 {p50:.3f} ms, mean {statistics.fmean(times_ms):.3f} ms, p95 {p95:.3f} ms")
    print(f"get(id) (binding floor): p50 {statistics.median(get_times):.1f} us, "
          f"mean {statistics.fmean(get_times):.1f} us")


if __name__ == "__main__":
    main()
