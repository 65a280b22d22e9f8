"""The emotional layer from Python: the shared fusion golden cases, catalog spellings,
persistence across reopen, bad input, and the snapshot on remembered memories."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memorable import InvalidInputError, Memorable, NotFoundError, user_context

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def ms(t: int) -> datetime:
    return datetime.fromtimestamp(t / 1000, tz=timezone.utc)


def check(case: dict[str, Any], state: dict[str, Any], tol: float) -> None:
    name, want = case["name"], case["expected"]
    assert len(state["scores"]) == 62, name
    for id_, got in state["scores"].items():
        assert got == pytest.approx(want["scores"].get(id_, 0.0), abs=tol), (name, id_)
    for key in ("confidence", "valence", "arousal"):
        if key in want:
            assert state[key] == pytest.approx(want[key], abs=tol), (name, key)
    assert state["dominant"] == want["dominant"], name
    for k, v in want.get("extras", {}).items():
        assert state["extras"][k] == pytest.approx(v, abs=tol), (name, k)
    for src, parts in want.get("sources", {}).items():
        (b,) = [b for b in state["sources"] if b["source"] == src]
        assert b["confidence"] == pytest.approx(parts["confidence"], abs=tol), (name, src)
        assert b["share"] == pytest.approx(parts["share"], abs=tol), (name, src)


def test_fusion_golden_cases(hashing: dict[str, Any], tmp_path: Path) -> None:
    f = fixture("emotion-fusion.json")
    t0, tol = f["t0_ms"], f["tolerance"]
    assert len(f["cases"]) >= 12
    # An empty model cache: opening skips checksumming the real one, 30 times over.
    quick = {**hashing, "model_dir": str(tmp_path)}
    for case in f["cases"]:
        one = Memorable.in_memory(**quick, emotion=case["config"])
        batch = Memorable.in_memory(**quick, emotion=case["config"])
        readings = [
            {
                "context": case["name"],
                "source": r["source"],
                "scores": r["scores"],
                "confidence": r["confidence"],
                "timestamp": ms(t0 + r["t_ms"]),
                "semantics": r.get("semantics"),
            }
            for r in case["readings"]
        ]
        for r in readings:
            one.observe(
                r["context"],
                r["source"],
                r["scores"],
                confidence=r["confidence"],
                timestamp=r["timestamp"],
                semantics=r["semantics"],
            )
        assert batch.observe_batch(readings) == len(readings)
        at = ms(t0 + case["at_ms"])
        check(case, one.emotional_state(case["name"], at=at), tol)
        check(case, batch.emotional_state(case["name"], at=at), tol)


def test_catalog_resolves_every_source_spelling(mem: Memorable) -> None:
    names = fixture("emotion-names.json")
    catalog = Memorable.emotion_catalog()
    assert len(catalog) == 62
    by_alias = {a: e["id"] for e in catalog for a in e["aliases"]}
    hume = names["hume_legacy"] + names["hume_language_extra"]
    for name in hume + [n.lower() for n in hume] + names["goemotions"]:
        assert name in by_alias, name
    assert by_alias["surprise (positive)"] == "surprise_positive"
    assert sum("hume" in e["vocabularies"] for e in catalog) == 48
    joy = next(e for e in catalog if e["id"] == "joy")
    assert (joy["name"], joy["color"]) == ("Joy", "#ffd600")
    # Every legacy spelling lands on its catalog id in a reading.
    for i, name in enumerate(hume):
        state = mem.observe(f"c{i}", "evi", {name: 0.5})
        assert state["scores"][by_alias[name]] == pytest.approx(0.5)
        assert state["extras"] == {}


def test_state_and_history_survive_reopen(tmp_path: Path, hashing: dict[str, Any]) -> None:
    t0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
    with Memorable.open(tmp_path, **hashing) as m:
        m.observe("call", "evi", {"Joy": 0.8}, timestamp=t0)
        m.observe("call", "face", [("joy", 0.4), ("jaw drop", 0.3)], confidence=0.5, timestamp=t0)
        m.observe("other", "custom:ring", {"calmness": 0.9}, timestamp=t0)
        m.close_context("other")
        state = m.emotional_state("call", at=t0 + timedelta(minutes=1))
        history = m.emotional_history("call")
        contexts = m.contexts()
    assert [c["context"] for c in contexts] == ["call", "other"]
    assert [c["open"] for c in contexts] == [True, False]
    assert contexts[0]["sources"] == ["face", "evi"]
    assert len(history) == 2 and history[-1]["readings"] == 2
    assert state["extras"] == {"jaw drop": pytest.approx(0.3)}
    with Memorable.open(tmp_path, **hashing) as m:
        assert m.emotional_state("call", at=t0 + timedelta(minutes=1)) == state
        assert m.emotional_history("call") == history
        assert m.contexts() == contexts
        assert len(m.emotional_history("call", limit=1)) == 1
        assert m.emotional_history("call", since=t0 + timedelta(seconds=1)) == []
        stats = m.stats()["emotion"]
        assert (stats["contexts"], stats["open_contexts"], stats["readings"]) == (2, 1, 3)
        assert stats["unknown_names"] == {"jaw drop": 1}
        assert stats["classification"] is False
        assert "no emotion classifier" in stats["classification_off_reason"]


def test_bad_readings_raise_and_change_nothing(mem: Memorable) -> None:
    mem.observe("c", "face", {"joy": 0.5})
    before = (mem.contexts(), mem.emotional_history("c"), mem.stats()["emotion"])
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    bad: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("face", {"joy": 1.5}, {}),
        ("face", {"joy": -0.1}, {}),
        ("face", {"joy": math.nan}, {}),
        ("face", {"joy": 0.5}, {"confidence": -0.2}),
        ("face", {}, {}),
        ("face", {"joy": 0.5}, {"timestamp": future}),
        ("camera", {"joy": 0.5}, {}),
        ("custom:", {"joy": 0.5}, {}),
        ("face", {"joy": 0.5, "Joy": 0.2}, {}),
        ("face", {"joy": 0.5}, {"semantics": "maybe"}),
    ]
    for source, scores, extra in bad:
        with pytest.raises(InvalidInputError) as e:
            mem.observe("c", source, scores, **extra)
        assert e.value.code == "INVALID_INPUT"
        ok = {"context": "c", "source": "face", "scores": {"joy": 0.1}}
        with pytest.raises(InvalidInputError):
            mem.observe_batch([ok, {"context": "c", "source": source, "scores": scores, **extra}])
    with pytest.raises(InvalidInputError):
        mem.observe_batch([{"context": "c", "source": "face", "scores": {"joy": 0.1}, "nope": 1}])
    with pytest.raises(InvalidInputError):
        mem.emotional_state("c", at=datetime(2024, 1, 1))  # naive datetime
    with pytest.raises(NotFoundError) as nf:
        mem.emotional_state("never")
    assert nf.value.code == "NOT_FOUND"
    with pytest.raises(NotFoundError):
        mem.close_context("never")
    assert (mem.contexts(), mem.emotional_history("c"), mem.stats()["emotion"]) == before


def test_sparse_semantics_and_zero_weights(hashing: dict[str, Any]) -> None:
    m = Memorable.in_memory(**hashing, emotion={"weights": {"voice": 0.0}})
    m.observe("c", "face", {"joy": 0.8})
    s = m.observe("c", "face", {"anger": 0.4}, semantics={"kind": "sparse", "vocabulary": "hume"})
    # Readings are stamped "now": the milliseconds between calls decay them a little
    # (half-life 300 s), hence the relative tolerance.
    assert s["scores"]["joy"] == pytest.approx(0.4, rel=1e-3)
    s = m.observe("c", "face", {"anger": 0.4}, semantics="sparse")
    assert s["scores"]["joy"] == pytest.approx(0.8 / 3, rel=1e-3)
    muted = m.observe("c", "voice", {"joy": 1.0, "fear": 1.0})
    assert muted["scores"]["fear"] == 0.0
    (voice,) = [b for b in muted["sources"] if b["source"] == "voice"]
    assert (voice["weight"], voice["share"]) == (0.0, 0.0)


def test_remember_attaches_the_session_state(mem: Memorable) -> None:
    mid = mem.remember("no session here", user="alice")
    assert mem.get(mid).emotion is None
    mem.observe("s1", "evi", {"Sadness": 0.7, "Tiredness": 0.2})
    mid = mem.remember("I miss my old dog", user="alice", session="s1")
    snap = mem.get(mid).emotion
    assert snap is not None
    assert snap["dominant"] == "sadness"
    assert snap["scores"] == {"sadness": pytest.approx(0.7), "tiredness": pytest.approx(0.2)}
    assert snap["valence"] < 0 and 0 < snap["confidence"] <= 1
    assert mem.recent(user="alice", limit=1)[0].emotion == snap


def test_example_runs(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    namespace = runpy.run_path(str(repo / "examples" / "python" / "emotion.py"))
    namespace["emotion"](str(tmp_path))
    out = capsys.readouterr().out
    assert out.startswith("joy ")
    assert "rejected: INVALID_INPUT" in out
    assert "2 states in the history" in out


def test_user_context_names_the_context_a_users_session_feeds(tmp_path: Path, hashing: dict[str, Any]) -> None:
    """`user_context(user, session)` is the context a memory's session feeds under
    `per_user_sessions` (what `memorable serve` uses): its state is the memory's snapshot."""
    assert user_context("alice", "s1") == "@5:alice/s1"
    assert user_context("zoë", "s1") == "@4:zoë/s1"  # the user's length in UTF-8 bytes
    with Memorable.open(tmp_path / "s", emotion={"per_user_sessions": True}, **hashing) as mem:
        mem.observe(user_context("alice", "s1"), "voice", {"Joy": 0.8})
        mid = mem.remember("We won the match", user="alice", session="s1")
        snapshot = mem.get(mid).emotion
        assert snapshot is not None and snapshot["dominant"] == "joy"
        bob = mem.remember("Quiet evening", user="bob", session="s1")
        assert mem.get(bob).emotion is None  # bob's s1 is another context, with no readings
