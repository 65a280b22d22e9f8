"""Emotion fusion from Python: readings from several sources fused per conversation, the
state attached to what is remembered in it, and kept across reopening the store.

Run: `python examples/python/emotion.py` (docs/emotion.md quotes this file).
"""

from __future__ import annotations

import sys
import tempfile

from memorable import InvalidInputError, Memorable


def emotion(path: str) -> None:
    with Memorable.open(path, embedder="hashing", emotion={"half_life_secs": 120}) as mem:
        mem.observe("call-42", "evi", {"Joy": 0.62, "Excitement": 0.41, "Tiredness": 0.05})
        mem.observe(
            "call-42",
            "face",
            {"joy": 0.7, "surprise (positive)": 0.3},
            confidence=0.9,
            semantics={"kind": "sparse", "vocabulary": "hume"},
        )
        state = mem.emotional_state("call-42")
        print(state["dominant"], round(state["valence"], 2), round(state["confidence"], 2))
        for source in state["sources"]:
            print(" ", source["source"], round(source["share"], 2))

        mid = mem.remember("I got the job!", user="alice", session="call-42")
        snapshot = mem.get(mid).emotion
        assert snapshot is not None
        print("memory", mid, snapshot["dominant"])

        try:
            mem.observe("call-42", "face", {"joy": 1.5})
        except InvalidInputError as e:
            print("rejected:", e.code)
        print(len(mem.emotional_history("call-42", limit=10)), "states in the history")


if __name__ == "__main__":
    emotion(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
