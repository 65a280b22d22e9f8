"""`Memorable.ingest_hume` from Python: the recorded Hume samples (shared with the Rust
tests) move a context's fused state, as JSON text or as a dict; bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memorable import InvalidInputError, Memorable

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "hume"


def sample(name: str) -> str:
    names = (FIXTURES / "recorded.names.txt").read_text().splitlines()
    lines = (FIXTURES / "recorded.jsonl").read_text().splitlines()
    return lines[names.index(name)]


def test_ingest_moves_the_fused_state(mem: Memorable) -> None:
    report = mem.ingest_hume("call", sample("v1 audio result"))
    assert (report["messages"], report["readings"], report["sources"]) == (1, 1, ["voice"])
    assert report["state"] is not None and report["state"]["dominant"] == "interest"

    # A dict (an app that already decoded the message) works the same way.
    report = mem.ingest_hume("call", json.loads(sample("evi user_message")))
    assert report["sources"] == ["evi"]
    assert report["state"]["dominant"] == "joy"
    assert [b["source"] for b in report["state"]["sources"]] == ["voice", "evi"]
    assert mem.emotional_state("call")["dominant"] == "joy"

    # No measurement: nothing fused, notices reported.
    report = mem.ingest_hume("call", sample("legacy error E0203"))
    assert report["readings"] == 0
    assert report["notices"][0]["code"] == "E0203"
    assert report["notices"][0]["severity"] == "error"
    assert mem.ingest_hume("quiet", sample("v1 session.created"))["state"] is None

    # A memory remembered in the session carries the fused state.
    mid = mem.remember("I finally got the job!", user="alice", session="call")
    snap = mem.get(mid).emotion
    assert snap is not None and snap["dominant"] == "joy"


def test_bad_input_changes_nothing(mem: Memorable) -> None:
    mem.ingest_hume("c", sample("evi user_message"))
    before = mem.emotional_state("c")["readings"]
    with pytest.raises(InvalidInputError) as e:
        mem.ingest_hume("c", "{not json")
    assert "not valid JSON" in str(e.value)
    with pytest.raises(InvalidInputError):
        mem.ingest_hume("c", {"type": "measurement.result", "expressions": {"oops": 1}})
    with pytest.raises(InvalidInputError):
        mem.ingest_hume(" ", sample("evi user_message"))
    with pytest.raises(InvalidInputError):
        mem.ingest_hume("c", {"bad": object()})
    assert mem.emotional_state("c")["readings"] == before
    assert len(mem.contexts()) == 1


def test_ingest_hume_lines_fuses_a_recorded_session(mem: Memorable) -> None:
    session = (FIXTURES / "recorded.jsonl").read_text()
    report = mem.ingest_hume_lines("session", session)
    assert report["messages"] == len([l for l in session.splitlines() if l.strip()])
    assert report["readings"] > 0 and report["state"] is not None
    before = mem.emotional_state("session")["readings"]
    # A bad line names its number and fuses nothing.
    with pytest.raises(InvalidInputError) as e:
        mem.ingest_hume_lines("session", sample("evi user_message") + "\n{not json\n")
    assert "line 2" in str(e.value)
    assert mem.emotional_state("session")["readings"] == before
