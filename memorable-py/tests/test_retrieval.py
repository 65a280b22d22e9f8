"""Retrieval through Python: the shared ranking golden cases, windows, recent, context frame."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memorable import InvalidInputError, Memorable

UTC = timezone.utc


def _when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _cases(repo: Path) -> list[dict[str, Any]]:
    fixture = json.loads((repo / "tests" / "fixtures" / "ranking.json").read_text())
    cases: list[dict[str, Any]] = fixture["cases"]
    return cases


def test_ranking_golden_cases(repo: Path, hashing: dict[str, Any]) -> None:
    cases = _cases(repo)
    assert len(cases) >= 8
    for case in cases:
        name = case["name"]
        with Memorable.in_memory(**hashing) as mem:
            items = []
            for m in case["memories"]:
                item = {k: v for k, v in m.items() if k != "key"}
                if "occurred_at" in item:
                    item["occurred_at"] = _when(item["occurred_at"])
                items.append({**item, "user": "golden"})
            ids = mem.remember_batch(items)
            keys = {mid: m["key"] for mid, m in zip(ids, case["memories"])}
            req = dict(case["recall"])
            query = req.pop("query")
            if "at" in req:
                req["at"] = _when(req["at"])
            hits = mem.recall(query, user="golden", **req)
            got = [keys[h.memory.id] for h in hits]
            if "first" in case:
                assert got[0] == case["first"], (name, got)
            if "order" in case:
                pos = [got.index(k) for k in case["order"]]
                assert pos == sorted(pos), (name, got)
            for term in case.get("zero", []):
                assert all(getattr(h.breakdown, term) == 0.0 for h in hits), (name, term)
            for spec in case.get("positive", []):
                key, _, term = spec.rpartition(":")
                hit = hits[got.index(key)] if key else hits[0]
                assert getattr(hit.breakdown, term) > 0.0, (name, spec)
            for h in hits:
                b = h.breakdown
                total = b.fused + b.context + b.recency + b.importance + b.arousal + b.access + b.mood + b.who + b.date
                assert h.score == pytest.approx(total, abs=1e-4)


def test_recent_windows_and_bad_options(hashing: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    with Memorable.in_memory(**hashing) as mem:
        mem.remember("two hours ago", user="u", occurred_at=now - timedelta(hours=2))
        mem.remember("half an hour ago", user="u", occurred_at=now - timedelta(minutes=30))
        mem.remember("a minute ago", user="u", occurred_at=now - timedelta(minutes=1))
        assert [m.text for m in mem.recent("u", "short")] == ["a minute ago"]
        assert [m.text for m in mem.recent("u", "medium")] == ["a minute ago", "half an hour ago"]
        assert len(mem.recent("u")) == 3
        assert [m.text for m in mem.recent("u", 120)] == ["a minute ago"]
        at = now - timedelta(minutes=29)
        assert [m.text for m in mem.recent("u", "short", at=at)] == ["half an hour ago"]
        hits = mem.recall("ago", user="u", window="medium", limit=5)
        assert {h.memory.text for h in hits} == {"a minute ago", "half an hour ago"}
        with pytest.raises(InvalidInputError):
            mem.recent("u", "fortnight")
        with pytest.raises(InvalidInputError):
            mem.recall("x", user="u", weights={"who": -1.0})
        with pytest.raises(InvalidInputError):
            mem.recall("x", user="u", weights={"nonsense": 1.0})
        with pytest.raises(InvalidInputError):
            mem.recall("x", user="u", fusion="average")
        with pytest.raises(InvalidInputError):
            mem.recall("x", user="u", mood={"valence": 3.0})
        rrf = mem.recall("ago", user="u", fusion="rrf", track_access=False, current_mood=True)
        assert len(rrf) == 3


def test_context_frame(hashing: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    with Memorable.in_memory(**hashing) as mem:
        for speaker, text, mins in [
            ("Ann", "I am planning a trip, a week in Lisbon with Priya", 50),
            ("Ben", "The trip sounds great, book a table at Cafe Roma", 10),
        ]:
            mem.remember(text, user="ann", speaker=speaker, occurred_at=now - timedelta(minutes=mins))
        frame = mem.context_frame("ann", "long")
        assert frame["memories"] == 2
        assert {m["name"] for m in frame["who"]} == {"Ann", "Ben", "Priya"}
        assert [m["name"] for m in frame["where"]] == ["Cafe Roma", "Lisbon"]
        assert frame["what"][0] == {"name": "trip", "count": 2}
        assert (frame["when"]["short"], frame["when"]["medium"], frame["when"]["long"]) == (1, 2, 2)
        assert frame["emotion"] is None
        assert mem.context_frame("ann", "short")["memories"] == 1
        assert mem.context_frame("ann")["window"] is None
