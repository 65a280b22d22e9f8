"""One handle shared by threads: concurrent recall and remember, GIL released."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from memorable import Memorable


def test_threads_share_one_handle(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, hashing_dim=64, **hashing) as mem:
        seed = mem.remember_batch(
            [{"text": f"seed memory {i} about topic {i % 7}", "user": "alice"} for i in range(300)]
        )
        writers, readers, per_thread = 3, 3, 40

        def write(t: int) -> list[int]:
            return [mem.remember(f"thread {t} wrote note {i}", user="alice") for i in range(per_thread)]

        def read(t: int) -> int:
            n = 0
            for i in range(per_thread):
                hits = mem.recall(f"topic {(t + i) % 7}", user="alice", limit=5)
                assert 1 <= len(hits) <= 5
                n += len(hits)
            return n

        with ThreadPoolExecutor(max_workers=writers + readers) as pool:
            written = [pool.submit(write, t) for t in range(writers)]
            read = [pool.submit(read, t) for t in range(readers)]
            ids = [i for f in written for i in f.result()]
            assert all(f.result() > 0 for f in read)

        assert len(set(ids)) == writers * per_thread
        assert not set(ids) & set(seed)
        assert mem.stats()["memories"] == 300 + writers * per_thread
        # Every write is visible to recall afterwards.
        hits = mem.recall("thread 2 wrote note 39", user="alice", limit=3)
        assert hits[0].memory.text == "thread 2 wrote note 39"


def test_long_calls_release_the_gil(hashing: dict[str, Any]) -> None:
    """A Python thread runs while remember_batch / recall work in Rust.

    With a very long switch interval the main thread only gives up the GIL when it blocks,
    so ticks stamped inside the call prove the call released it.
    """
    with Memorable.in_memory(**hashing) as mem:
        items = [{"text": f"memory number {i} " * 20, "user": "alice"} for i in range(4000)]
        stamps: list[float] = []
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                stamps.append(time.perf_counter())
                time.sleep(0)

        interval = sys.getswitchinterval()
        sys.setswitchinterval(30.0)
        ticker = threading.Thread(target=tick)
        try:
            ticker.start()
            time.sleep(0.01)
            t0 = time.perf_counter()
            mem.remember_batch(items)
            t1 = time.perf_counter()
        finally:
            stop.set()
            sys.setswitchinterval(interval)
            ticker.join()
        assert any(t0 < s < t1 for s in stamps)


def test_close_while_other_threads_work(store_dir: Path, hashing: dict[str, Any]) -> None:
    """Closing from one thread makes the others fail cleanly with CLOSED, never crash."""
    mem = Memorable.open(store_dir, **hashing)
    mem.remember("hello world", user="alice")
    codes: set[str] = set()
    lock = threading.Lock()

    def spin() -> None:
        from memorable import MemorableError

        for _ in range(200):
            try:
                mem.recall("hello", user="alice")
            except MemorableError as e:
                with lock:
                    codes.add(e.code)
                return

    threads = [threading.Thread(target=spin) for _ in range(4)]
    for t in threads:
        t.start()
    mem.close()
    for t in threads:
        t.join()
    assert codes <= {"CLOSED"}
