"""Pictures and listings from Python: the emotion timeline SVG (byte-identical to the golden
the Rust, Node and C suites compare with), users with counts, and paging with offset."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from memorable import InvalidInputError, Memorable, NotFoundError

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures"


def fixture_readings() -> list[dict[str, Any]]:
    out = []
    for line in (FIXTURES / "timeline-readings.jsonl").read_text().splitlines():
        r = json.loads(line)
        r["timestamp"] = datetime.fromisoformat(r["timestamp"])
        out.append(r)
    return out


def test_timeline_svg_matches_the_shared_golden(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(**hashing) as mem:
        mem.observe_batch(fixture_readings())
        svg = mem.emotion_timeline_svg("demo")
        assert svg == (FIXTURES / "timeline.svg").read_text()
        small = mem.emotion_timeline_svg(
            "demo", expressions=["Sadness"], width=480, height=320, theme="dark", title="<i>x</i>"
        )
        assert 'width="480" height="320"' in small and small.count('class="series"') == 1
        assert "&lt;i&gt;x&lt;/i&gt;" in small and "<i>" not in small
        # The shape: one options dict (times as RFC 3339 strings); keywords win.
        as_dict = mem.emotion_timeline_svg(
            "demo", {"since": "2026-12-01T09:10:00Z", "until": "2026-12-01T09:30:00Z", "top": 2}
        )
        assert "· 5 states" in as_dict and as_dict.count('class="series"') == 2
        assert mem.emotion_timeline_svg("demo", {"top": 2}, top=3).count('class="series"') == 3
        with pytest.raises(InvalidInputError):
            mem.emotion_timeline_svg("demo", {"colour": "red"})
        history = mem.emotional_history("demo")
        assert [s["source"] for s in history[:3]] == ["text", "voice", "face"]


def test_timeline_errors_are_coded(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(**hashing) as mem:
        mem.observe_batch(fixture_readings())
        with pytest.raises(NotFoundError):
            mem.emotion_timeline_svg("nobody")
        with pytest.raises(InvalidInputError):
            mem.emotion_timeline_svg("demo", theme="sepia")
        with pytest.raises(InvalidInputError):
            mem.emotion_timeline_svg("demo", top=0)
        with pytest.raises(InvalidInputError):
            mem.emotion_timeline_svg("demo", expressions=["zorg"])


def test_users_and_offset_paging(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(**hashing) as mem:
        mem.remember_batch([{"user": "t:ann", "text": f"note {i}"} for i in range(5)])
        mem.remember("hello", user="t:bob")
        mem.remember("hi", user="other")
        assert mem.users() == [
            {"user": "other", "memories": 1},
            {"user": "t:ann", "memories": 5},
            {"user": "t:bob", "memories": 1},
        ]
        assert [u["user"] for u in mem.users(prefix="t:")] == ["t:ann", "t:bob"]
        everything = [m.id for m in mem.recent("t:ann", limit=10)]
        pages = [m.id for off in (0, 2, 4) for m in mem.recent("t:ann", limit=2, offset=off)]
        assert pages == everything
        hits = mem.recall("note", user="t:ann", limit=5, track_access=False)
        skipped = mem.recall("note", user="t:ann", limit=2, offset=3, track_access=False)
        assert [h.memory.id for h in skipped] == [h.memory.id for h in hits[3:5]]


def test_derived_lists_memories_made_from_one(mem: Memorable) -> None:
    a = mem.remember("we planted basil", user="ann")
    b = mem.remember("the fence needs paint", user="ann")
    summary = mem.remember_batch(
        [{"user": "ann", "text": "garden chores", "kind": "summary", "derived_from": [a, b]}]
    )[0]
    assert [m.id for m in mem.derived(a)] == [summary]
    assert mem.derived(summary) == []
    with pytest.raises(NotFoundError):
        mem.derived(424242)
