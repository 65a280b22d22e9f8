"""The Memorable handle through Python: what the Rust API guarantees, seen from here."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import memorable
from memorable import (
    InvalidInputError,
    Memorable,
    MemorableError,
    Memory,
    NotFoundError,
    Recalled,
)

UTC = timezone.utc
T0 = datetime(2024, 5, 8, 13, 56, 0, 123000, tzinfo=UTC)  # ms precision round-trips exactly


def test_version_is_the_core_version(repo: Path) -> None:
    cargo = (repo / "Cargo.toml").read_text()
    workspace_package = cargo.split("[workspace.package]", 1)[1]
    version = re.search(r'^version = "([^"]+)"', workspace_package, re.M)
    assert version is not None
    assert memorable.__version__ == version.group(1)


def test_round_trip_across_reopen(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, **hashing) as mem:
        mid = mem.remember(
            "I adopted a puppy named Biscuit",
            user="alice",
            session="chat-1",
            speaker="alice",
            occurred_at=T0,
            place="Lyon",
            tags=["pets", "family"],
            metadata={"source": "chat", "n": 3, "nested": {"ok": True, "list": [1, 2.5, None]}},
            importance=0.75,
            kind="fact",
            topics=["dogs"],
            lat=45.76,
            lon=4.83,
        )
        before = mem.get(mid)
    with Memorable.open(str(store_dir), **hashing) as mem:
        m = mem.get(mid)
        assert m == before
        assert isinstance(m, Memory)
        assert (m.id, m.user, m.text, m.kind) == (mid, "alice", "I adopted a puppy named Biscuit", "fact")
        assert (m.session, m.speaker, m.place) == ("chat-1", "alice", "Lyon")
        assert m.topics == ["dogs"]
        assert m.tags == ["pets", "family"]
        assert m.metadata == {"source": "chat", "n": 3, "nested": {"ok": True, "list": [1, 2.5, None]}}
        assert m.importance == pytest.approx(0.75)
        assert (m.lat, m.lon) == (pytest.approx(45.76), pytest.approx(4.83))
        assert m.occurred_at == T0
        assert m.occurred_at.utcoffset() == timedelta(0)
        assert m.created_at.tzinfo is not None and m.created_at == m.updated_at
        assert m.version == 1
        hits = mem.recall("what is my puppy called?", user="alice")
        assert hits[0].memory.id == mid


def test_defaults_of_a_plain_memory(mem: Memorable) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    m = mem.get(mem.remember("hello there", user="alice"))
    assert m.kind == "message"
    assert (m.session, m.speaker, m.place, m.lat, m.lon) == (None, None, None, None, None)
    assert m.tags == [] and m.topics == [] and m.metadata == {}
    assert m.importance == pytest.approx(0.5)
    assert m.occurred_at >= before
    assert "hello there" in repr(m)


def test_aware_datetimes_in_any_zone(mem: Memorable) -> None:
    paris = datetime(2024, 5, 8, 15, 56, 0, 123000, tzinfo=ZoneInfo("Europe/Paris"))
    plus2 = datetime(2024, 5, 8, 15, 56, 0, 123000, tzinfo=timezone(timedelta(hours=2)))
    a = mem.get(mem.remember("zoneinfo time", user="alice", occurred_at=paris))
    b = mem.get(mem.remember("fixed offset time", user="alice", occurred_at=plus2))
    assert a.occurred_at == b.occurred_at == T0


def test_recall_returns_scored_hits(mem: Memorable) -> None:
    mid = mem.remember("I adopted a puppy named Biscuit", user="alice")
    mem.remember("The quarterly report is due on Friday", user="alice")
    hits = mem.recall("puppy Biscuit", user="alice", limit=1)
    assert len(hits) == 1
    hit = hits[0]
    assert isinstance(hit, Recalled)
    assert hit.memory.id == mid
    b = hit.breakdown
    terms = (b.fused, b.context, b.recency, b.importance, b.arousal, b.access, b.mood, b.who, b.date)
    assert hit.score == pytest.approx(sum(terms), abs=1e-5)  # the score is the sum of its terms
    assert b.keyword_rank == 1 and b.keyword is not None
    assert b.semantic_rank is not None and b.semantic is not None
    assert "Recalled(" in repr(hit) and "ScoreBreakdown(" in repr(b)


def test_recall_filters(mem: Memorable) -> None:
    ids = mem.remember_batch(
        [
            {"text": "coffee with Bob", "user": "alice", "session": "s1", "speaker": "bob",
             "tags": ["social", "morning"], "occurred_at": T0, "kind": "event"},
            {"text": "coffee alone", "user": "alice", "session": "s2", "speaker": "alice",
             "tags": ["morning"], "occurred_at": T0 + timedelta(days=1)},
            {"text": "coffee with Carol", "user": "alice", "session": "s1", "speaker": "carol",
             "tags": ["social"], "occurred_at": T0 + timedelta(days=2)},
        ]
    )
    bob, alone, carol = ids

    def found(**filters: object) -> set[int]:
        return {h.memory.id for h in mem.recall("coffee", user="alice", **filters)}  # type: ignore[arg-type]

    assert found() == {bob, alone, carol}
    assert found(session="s1") == {bob, carol}
    assert found(speaker="carol") == {carol}
    assert found(tags=["morning"]) == {bob, alone}
    assert found(tags=("social", "morning")) == {bob}
    assert found(kinds=["event"]) == {bob}
    assert found(since=T0 + timedelta(days=1)) == {alone, carol}  # inclusive
    assert found(until=T0 + timedelta(days=1)) == {bob}  # exclusive
    assert found(since=T0, until=T0 + timedelta(days=2)) == {bob, alone}
    assert found(session="s1", speaker="bob") == {bob}
    assert found(session="nope") == set()


def test_recent_is_newest_first_with_filters(mem: Memorable) -> None:
    ids = [
        mem.remember(f"note {i}", user="alice", occurred_at=T0 + timedelta(hours=i),
                     session="even" if i % 2 == 0 else "odd")
        for i in range(5)
    ]
    assert [m.id for m in mem.recent(user="alice")] == ids[::-1]
    assert [m.id for m in mem.recent(user="alice", limit=2)] == [ids[4], ids[3]]
    assert [m.id for m in mem.recent(user="alice", session="odd")] == [ids[3], ids[1]]
    assert [m.id for m in mem.recent(user="alice", since=T0 + timedelta(hours=3))] == [ids[4], ids[3]]
    assert mem.recent(user="nobody") == []


def test_update_and_history(mem: Memorable) -> None:
    mid = mem.remember("I live in Paris", user="alice", tags=["home"], metadata={"v": 1})
    updated = mem.update(mid, text="I live in Lyon", metadata={"v": 2}, importance=0.9, speaker="alice")
    assert (updated.text, updated.version, updated.tags, updated.metadata) == (
        "I live in Lyon", 2, ["home"], {"v": 2})
    assert updated.speaker == "alice"
    assert mem.get(mid) == updated
    history = mem.history(mid)
    assert [v.version for v in history] == [1, 2]
    assert [v.text for v in history] == ["I live in Paris", "I live in Lyon"]
    assert history[0].metadata == {"v": 1}
    assert history[0].valid_to is not None and history[1].valid_to is None
    assert history[0].valid_to <= history[1].valid_from + timedelta(milliseconds=1)
    assert mem.recall("Lyon", user="alice")[0].memory.id == mid


def test_forget(mem: Memorable) -> None:
    mid = mem.remember("secret plan", user="alice")
    keep = mem.remember("public plan", user="alice")
    mem.forget(mid)
    with pytest.raises(NotFoundError):
        mem.get(mid)
    assert [h.memory.id for h in mem.recall("secret plan", user="alice")] == [keep]
    with pytest.raises(NotFoundError):
        mem.forget(mid)


def test_forget_user_and_isolation(mem: Memorable) -> None:
    a = mem.remember("alice likes tea", user="alice")
    b = mem.remember("bob likes tea", user="bob")
    assert [h.memory.id for h in mem.recall("tea", user="alice")] == [a]
    assert [h.memory.id for h in mem.recall("tea", user="bob")] == [b]
    assert mem.recall("tea", user="carol") == []
    assert mem.forget_user("alice") == 1
    assert mem.forget_user("alice") == 0
    assert mem.recall("tea", user="alice") == []
    assert mem.get(b).user == "bob"


def test_remember_batch(mem: Memorable) -> None:
    ids = mem.remember_batch(({"text": f"item {i}", "user": "alice"} for i in range(100)))
    assert len(ids) == 100 and ids == sorted(ids)
    assert mem.remember_batch([]) == []
    assert mem.stats()["memories"] == 100


def test_remember_batch_is_all_or_nothing(mem: Memorable) -> None:
    with pytest.raises(InvalidInputError) as e:
        mem.remember_batch([{"text": "fine", "user": "alice"}, {"text": "", "user": "alice"}])
    assert e.value.code == "EMPTY_TEXT"
    with pytest.raises(InvalidInputError) as e:
        mem.remember_batch([{"text": "fine", "user": "alice", "speler": "typo"}])
    assert e.value.code == "INVALID_INPUT"
    assert mem.stats()["memories"] == 0


def test_precomputed_embedding(mem: Memorable) -> None:
    mid = mem.remember("vector given", user="alice", embedding=[1.0, 0, 0, 0, 0, 0, 0, 0])
    assert mem.get(mid).text == "vector given"


def test_config_keywords(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(
        max_text_chars=5,
        hnsw={"m": 8, "ef_search": 20, "sparse_search": False},
        durability="full",
        **hashing,
    ) as m:
        m.remember("short", user="alice")
        with pytest.raises(InvalidInputError) as e:
            m.remember("too long", user="alice")
        assert e.value.code == "TEXT_TOO_LONG"
    for bad in (
        {"hnsw": {"m": 1}},
        {"no_such_key": 1},
        {"max_text_chars": "many"},
        {"embedder": "no-such-model"},
        {"embedder": ""},
        {"profile": "cloud"},
        {"model_dir": 3},
    ):
        with pytest.raises(InvalidInputError) as e:
            Memorable.in_memory(**bad)
        assert e.value.code == "INVALID_CONFIG"


def test_stats_and_checkpoint(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, hashing_dim=16, **hashing) as mem:
        mem.remember("one", user="alice")
        mem.remember("two", user="bob")
        mem.recall("one", user="alice")
        mem.checkpoint()
        s = mem.stats()
        assert (s["memories"], s["users"], s["versions"]) == (2, 2, 0)
        # Chosen explicitly, so no fallback reason (None, but the key is always there).
        assert s["embedder"] == {
            "model_id": "hashing-v1-16", "dim": 16, "fallback": True, "fallback_reason": None}
        assert s["selection"] == mem.selection_report()
        assert s["reembed"] is None
        assert s["path"] == str(store_dir)
        assert s["store_bytes"] > 0
        assert isinstance(s["schema_version"], int)
        loaded = {i["user"]: i for i in s["loaded_indexes"]}
        assert "alice" in loaded  # recall loaded it
        assert {"points", "live", "pending", "tombstones", "origin", "dirty"} <= set(loaded["alice"])
        assert isinstance(loaded["alice"]["pending"], int)
        assert loaded["alice"]["sparse"] is True  # hashing vectors: exact sparse search
    assert Memorable.in_memory(**hashing).stats()["path"] is None


def test_index_memory_budget(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, max_index_memory_mb=1, **hashing) as mem:
        for user in ("alice", "bob"):
            mem.remember_batch([{"text": f"{user} note {i}", "user": user} for i in range(500)])
        assert len(mem.recall("note 7", user="alice")) > 0
        assert len(mem.recall("note 7", user="bob")) > 0
        # 500 vectors of 384 floats with their graph are over 1 MiB: loading bob's index
        # evicted alice's (the least recently used); the one in use stays.
        loaded = mem.stats()["loaded_indexes"]
        assert [i["user"] for i in loaded] == ["bob"]
        assert loaded[0]["approx_bytes"] > 500 * 384 * 4
        assert mem.recall("note 7", user="alice")[0].memory.user == "alice"
        assert [i["user"] for i in mem.stats()["loaded_indexes"]] == ["alice"]
    with pytest.raises(InvalidInputError) as e:
        Memorable.open(store_dir, max_index_memory_mb=0, **hashing)
    assert e.value.code == "INVALID_CONFIG"


def test_close_then_calls_fail_cleanly(store_dir: Path, hashing: dict[str, Any]) -> None:
    mem = Memorable.open(store_dir, **hashing)
    mid = mem.remember("before close", user="alice")
    mem.close()
    mem.close()  # closing twice is fine
    for call in (
        lambda: mem.remember("after", user="alice"),
        lambda: mem.recall("after", user="alice"),
        lambda: mem.get(mid),
        lambda: mem.stats(),
        lambda: mem.selection_report(),
        lambda: mem.reembed("hashing"),
        lambda: mem.checkpoint(),
    ):
        with pytest.raises(MemorableError) as e:
            call()
        assert type(e.value) is MemorableError
        assert (e.value.code, e.value.code_number) == ("CLOSED", 40)
        assert "closed" in str(e.value)
    # The directory lock was released: the store opens again.
    with Memorable.open(store_dir, **hashing) as again:
        assert again.get(mid).text == "before close"


def test_client_key_makes_remember_idempotent(mem: Memorable) -> None:
    first = mem.remember("paid the plumber", user="alice", client_key="req-1")
    assert mem.remember("paid the plumber", user="alice", client_key="req-1") == first
    ids = mem.remember_batch(
        [
            {"text": "paid the plumber", "user": "alice", "client_key": "req-1"},
            {"text": "booked the boiler check", "user": "alice", "client_key": "req-2"},
        ]
    )
    assert ids[0] == first and ids[1] != first
    assert mem.stats()["memories"] == 2
    with pytest.raises(InvalidInputError):
        mem.remember("x", user="alice", client_key="")
