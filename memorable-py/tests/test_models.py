"""Embedding models through Python: selection report, config keys, recall modes, reembed.

Tests marked with the `minilm` fixture need MiniLM in the model cache. The CI fetches it
with scripts/fetch-model.sh; without it they FAIL (with that hint), they never skip.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FETCH_HINT
from memorable import InvalidInputError, Memorable, ModelError

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"

NOTES = [
    "I adopted a puppy named Biscuit",
    "The quarterly report is due on Friday",
    "My sister lives in Lyon with her two cats",
    "Bob recommended the ramen place on Rue Sainte",
]


@pytest.fixture(scope="session")
def minilm() -> str:
    """MiniLM's model id, once the core has checked that the cache holds it."""
    try:
        with Memorable.in_memory(embedder="minilm") as mem:
            model_id: str = mem.stats()["embedder"]["model_id"]
    except ModelError as e:
        pytest.fail(f"{FETCH_HINT}\n(core: {e})")
    return model_id


@pytest.fixture
def filled(hashing: dict[str, Any]) -> Iterator[Memorable]:
    with Memorable.in_memory(**hashing) as mem:
        mem.remember_batch([{"text": t, "user": "alice"} for t in NOTES])
        mem.remember_batch([{"text": f"unrelated note {i} about the weather", "user": "alice"}
                            for i in range(20)])
        yield mem


# --- selection report and config keys -------------------------------------------------------


def test_selection_report_shape(mem: Memorable) -> None:
    r = mem.selection_report()
    assert r["requested"] == "hashing"
    assert r["chosen"] == "hashing"
    assert r["model_id"] == "hashing-v1-8"
    assert r["fallback"] is True
    assert r["fallback_reason"] is None  # asked for explicitly: not a fallback *because of* anything
    assert r["role"] == "embedding"
    assert r["device"] == "cpu"
    assert set(r["limits"]) == {"threads", "batch_size"}
    assert isinstance(r["load_ms"], float) and isinstance(r["warm_up_ms"], float)
    assert isinstance(r["notes"], list)
    decisions = r["decisions"]
    assert decisions and all(set(d) == {"model", "outcome", "reason"} for d in decisions)
    assert [d["model"] for d in decisions if d["outcome"] == "chosen"] == ["hashing"]
    assert r["environment"]["profile"] in ("local", "server")
    assert r == mem.stats()["selection"]


def test_profile_and_model_dir_config_keys(tmp_path: Path) -> None:
    """`model_dir` pointing at an empty cache: "auto" falls back to hashing, and says why."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    with Memorable.in_memory(model_dir=str(empty), profile="server") as mem:
        r = mem.selection_report()
        assert r["requested"] == "auto"
        assert r["environment"]["profile"] == "server"
        assert r["model_dir"] == str(empty)
        assert (r["chosen"], r["fallback"]) == ("hashing", True)
        assert any(d["model"] == "minilm" and d["outcome"] == "skipped" for d in r["decisions"])
        embedder = mem.stats()["embedder"]
        assert embedder["fallback"] is True
        assert isinstance(embedder["fallback_reason"], str)
        assert "minilm" in embedder["fallback_reason"]
        assert "fetch-model.sh" in embedder["fallback_reason"]
        assert embedder["fallback_reason"] == r["fallback_reason"]
    # An explicit model is used or refused, never replaced.
    with pytest.raises(ModelError) as e:
        Memorable.in_memory(embedder="minilm", model_dir=empty)  # a PathLike works too
    assert e.value.code == "MODEL"


def test_default_auto_picks_minilm_when_cached(store_dir: Path, minilm: str) -> None:
    with Memorable.open(store_dir) as mem:
        s = mem.stats()
        if s["selection"]["chosen"] != "minilm":
            pytest.fail(f"{FETCH_HINT}\n(auto chose {s['selection']['chosen']!r}: "
                        f"{s['embedder']['fallback_reason']})")
        assert s["embedder"] == {"model_id": minilm, "dim": 384, "fallback": False,
                                 "fallback_reason": None}
        assert s["selection"]["requested"] == "auto"
        puppy, *_ = mem.remember_batch([{"text": t, "user": "alice"} for t in NOTES])
        # Meaning, not words: no keyword of the query is in the memory.
        hits = mem.recall("dog", user="alice", limit=1, mode="semantic")
        assert hits[0].memory.id == puppy
    # "auto" on an existing store is the model its vectors were made with.
    with Memorable.open(store_dir, profile="local") as mem:
        assert mem.stats()["embedder"]["model_id"] == minilm


# --- recall modes ---------------------------------------------------------------------------


def test_recall_mode_keyword_uses_keywords_only(filled: Memorable) -> None:
    hybrid = filled.recall("puppy Biscuit", user="alice", limit=10)
    keyword = filled.recall("puppy Biscuit", user="alice", limit=10, mode="keyword")
    assert len(hybrid) == 10  # hybrid also brings semantic candidates
    assert [h.memory.text for h in keyword] == ["I adopted a puppy named Biscuit"]
    for h in keyword:
        assert h.breakdown.keyword is not None and h.breakdown.keyword_rank is not None
        assert h.breakdown.semantic is None and h.breakdown.semantic_rank is None
    assert filled.recall("zzz nothing matches", user="alice", mode="keyword") == []


def test_recall_mode_semantic_uses_vectors_only(filled: Memorable) -> None:
    hits = filled.recall("puppy Biscuit", user="alice", limit=5, mode="semantic")
    assert len(hits) == 5
    for h in hits:
        assert h.breakdown.semantic is not None and h.breakdown.semantic_rank is not None
        assert h.breakdown.keyword is None and h.breakdown.keyword_rank is None
    explicit = filled.recall("puppy Biscuit", user="alice", limit=5, mode="hybrid")
    default = filled.recall("puppy Biscuit", user="alice", limit=5)
    assert [h.memory.id for h in explicit] == [h.memory.id for h in default]


def test_recall_mode_rejects_unknown_names(mem: Memorable) -> None:
    with pytest.raises(InvalidInputError, match="fuzzy") as e:
        mem.recall("q", user="alice", mode="fuzzy")  # type: ignore[arg-type]
    assert e.value.code == "INVALID_INPUT"


# --- reembed --------------------------------------------------------------------------------


def fill_hashing_store(path: Path, n: int) -> list[int]:
    with Memorable.open(path, embedder="hashing") as mem:
        ids = mem.remember_batch([{"text": t, "user": "alice"} for t in NOTES])
        ids += mem.remember_batch(
            [{"text": f"note {i} about errands, weather and work", "user": f"user{i % 3}"}
             for i in range(n - len(NOTES))]
        )
        return ids


def test_reembed_hashing_store_to_minilm(store_dir: Path, minilm: str) -> None:
    n = 150
    ids = fill_hashing_store(store_dir, n)
    # A hashing store reopened with "auto" stays hashing (its vectors' model).
    with Memorable.open(store_dir) as mem:
        assert mem.stats()["embedder"]["model_id"].startswith("hashing")
        calls: list[dict[str, Any]] = []
        stamps: list[float] = []
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                stamps.append(time.perf_counter())
                time.sleep(0)

        # A long switch interval: the ticker only runs if reembed releases the GIL.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(30.0)
        ticker = threading.Thread(target=tick)
        try:
            ticker.start()
            time.sleep(0.01)
            t0 = time.perf_counter()
            report = mem.reembed("minilm", calls.append)  # append returns None: continue
            t1 = time.perf_counter()
        finally:
            stop.set()
            sys.setswitchinterval(interval)
            ticker.join()
        assert any(t0 < s < t1 for s in stamps), "reembed held the GIL"

        assert report == {"previous_model_id": "hashing-v1-384", "model_id": minilm,
                          "reembedded": n, "completed": True}
        assert calls, "the progress callback was never called"
        assert all(set(c) == {"target_model_id", "done", "total"} for c in calls)
        assert all(c["target_model_id"] == minilm and c["total"] == n for c in calls)
        assert [c["done"] for c in calls] == sorted(c["done"] for c in calls)
        assert calls[-1]["done"] == n

        s = mem.stats()
        assert s["embedder"]["model_id"] == minilm and s["embedder"]["fallback"] is False
        assert s["selection"]["chosen"] == "minilm"
        assert s["reembed"] is None
        hits = mem.recall("dog", user="alice", limit=1, mode="semantic")
        assert hits[0].memory.id == ids[0]
        # Nothing left to do: a second call completes at once.
        again = mem.reembed("minilm")
        assert (again["reembedded"], again["completed"], again["model_id"]) == (0, True, minilm)
    with Memorable.open(store_dir) as mem:
        assert mem.stats()["embedder"]["model_id"] == minilm
    with pytest.raises(ModelError) as e:
        Memorable.open(store_dir, embedder="hashing")
    assert e.value.code == "MODEL_MISMATCH"


def test_reembed_pause_and_resume(store_dir: Path, minilm: str) -> None:
    n = 150  # more than one reembed batch (64 on a local profile, 128 on a server)
    fill_hashing_store(store_dir, n)
    with Memorable.open(store_dir, embedder="hashing") as mem:
        calls: list[dict[str, Any]] = []

        def pause(p: dict[str, Any]) -> bool:
            calls.append(p)
            return False

        first = mem.reembed("minilm", pause)
        assert len(calls) == 1
        done = calls[0]["done"]
        assert 0 < done < n
        assert first == {"previous_model_id": "hashing-v1-384", "model_id": "hashing-v1-384",
                         "reembedded": done, "completed": False}
        assert mem.stats()["reembed"] == {"target_model_id": minilm, "done": done, "total": n}
        assert mem.stats()["embedder"]["model_id"] == "hashing-v1-384"  # still the old model
        assert len(mem.recall("errands", user="user1", limit=5)) == 5  # recall keeps working

        second = mem.reembed("minilm", lambda p: True)
        assert second == {"previous_model_id": "hashing-v1-384", "model_id": minilm,
                          "reembedded": n - done, "completed": True}
        assert mem.stats()["reembed"] is None


def test_reembed_callback_exception_pauses_and_is_raised(store_dir: Path, minilm: str) -> None:
    n = 150
    fill_hashing_store(store_dir, n)
    with Memorable.open(store_dir, embedder="hashing") as mem:
        class Stop(Exception):
            pass

        def boom(p: dict[str, Any]) -> None:
            raise Stop(p["done"])

        with pytest.raises(Stop) as e:
            mem.reembed("minilm", boom)
        done = e.value.args[0]
        assert 0 < done < n
        assert mem.stats()["reembed"] == {"target_model_id": minilm, "done": done, "total": n}
        with pytest.raises(TypeError, match="callable"):
            mem.reembed("minilm", "not a function")  # type: ignore[arg-type]
        assert mem.stats()["reembed"]["done"] == done  # nothing done before the TypeError
        finished = mem.reembed("minilm")
        assert (finished["reembedded"], finished["completed"]) == (n - done, True)


def test_reembed_unknown_model(mem: Memorable) -> None:
    with pytest.raises(InvalidInputError) as e:
        mem.reembed("no-such-model")
    assert e.value.code == "INVALID_CONFIG"
