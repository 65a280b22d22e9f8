"""Interop with the Rust CLI: a store written by Python is read by Rust, and back.

Only one process may hold a store, so the Python handle is closed before the CLI runs.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from memorable import Memorable


def run(cli: Path, store: Path, *args: str) -> Any:
    out = subprocess.run(
        [str(cli), "--store", str(store), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return json.loads(out.stdout)


def test_python_writes_rust_reads(cli: Path, store_dir: Path, hashing: dict[str, Any]) -> None:
    # The CLI opens with "auto", which for an existing store is the model of its vectors.
    with Memorable.open(store_dir, **hashing) as mem:
        puppy = mem.remember(
            "I adopted a puppy named Biscuit",
            user="alice",
            speaker="alice",
            session="chat-1",
            occurred_at=datetime(2024, 5, 8, 13, 56, tzinfo=timezone.utc),
        )
        ids = mem.remember_batch(
            [{"text": f"unrelated note {i} about the weather", "user": "alice"} for i in range(20)]
        )
        mem.remember("bob's own puppy story", user="bob")

    hits = run(cli, store_dir, "recall", "--user", "alice", "--limit", "3", "--json", "puppy Biscuit")
    assert isinstance(hits, list) and len(hits) == 3
    assert hits[0]["id"] == puppy
    assert hits[0]["text"] == "I adopted a puppy named Biscuit"
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]  # z-scored: may be < 0
    assert {h["id"] for h in hits[1:]} <= set(ids)

    stats = run(cli, store_dir, "stats", "--json")
    assert stats["memories"] == 22
    assert stats["users"] == 2

    # And the store is still Python's to reopen afterwards.
    with Memorable.open(store_dir, **hashing) as mem:
        assert mem.stats()["memories"] == 22


def test_rust_writes_python_reads(cli: Path, store_dir: Path) -> None:
    first = run(
        cli, store_dir, "remember", "--user", "alice", "--speaker", "bob", "--session", "s1",
        "--at", "2024-05-08T13:56:00Z", "--json", "Bob recommended the ramen place on Rue Sainte",
    )
    second = run(cli, store_dir, "remember", "--user", "alice", "--json", "The dentist appointment is on Tuesday")
    assert isinstance(first["id"], int) and second["id"] > first["id"]

    # The CLI created the store with "auto" (MiniLM when cached): Python's default "auto"
    # opens it with the model its vectors were made with, whichever that was.
    with Memorable.open(store_dir) as mem:
        model_id = mem.stats()["embedder"]["model_id"]
        m = mem.get(first["id"])
        assert m.text == "Bob recommended the ramen place on Rue Sainte"
        assert (m.user, m.speaker, m.session) == ("alice", "bob", "s1")
        assert m.occurred_at == datetime(2024, 5, 8, 13, 56, tzinfo=timezone.utc)
        hits = mem.recall("ramen recommendation", user="alice", limit=1)
        assert hits[0].memory.id == first["id"]
        assert [h.memory.id for h in mem.recall("ramen", user="alice", speaker="bob")] == [first["id"]]
        # Python adds to the CLI's store, and the CLI sees it.
        added = mem.remember("I booked the ramen place for Friday", user="alice")

    hits = run(cli, store_dir, "recall", "--user", "alice", "--limit", "5", "--json", "booked ramen Friday")
    assert hits[0]["id"] == added
    stats = run(cli, store_dir, "stats", "--json")
    assert stats["memories"] == 3
    assert stats["embedder"]["model_id"] == model_id
