"""MemoRable from Python: remember, recall, update, forget.

Run: python examples/python/quickstart.py   (after `pip install ./memorable-py`)
Run by memorable-py/test.sh and checked with `mypy --strict`; docs/python.md quotes it.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone

from memorable import InvalidInputError, Memorable, NotFoundError


def quickstart(path: str) -> None:
    # Open (or create) the store in a directory; `with` closes it.
    with Memorable.open(path, max_text_chars=2_000) as mem:
        puppy = mem.remember(
            "I adopted a puppy named Biscuit",
            user="alice",
            speaker="alice",
            session="chat-1",
            tags=["pets"],
            metadata={"source": "chat"},
        )
        _, slippers = mem.remember_batch(
            [
                {"text": "The quarterly report is due on Friday", "user": "alice"},
                {
                    "text": "Biscuit chewed my slippers",
                    "user": "alice",
                    "occurred_at": datetime.now(timezone.utc) - timedelta(days=1),
                    "tags": ["pets"],
                },
            ]
        )

        best = mem.recall("what is my puppy called?", user="alice", limit=3)[0]
        print(f"{best.score:.4f} {best.memory.text!r}", best.breakdown)
        assert best.memory.id == puppy

        # Filters: session, speaker, tags, kinds, and a [since, until) time range.
        pets = mem.recall("Biscuit", user="alice", tags=["pets"])
        assert {h.memory.id for h in pets} == {puppy, slippers}
        hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
        recent_ids = {h.memory.id for h in mem.recall("Biscuit", user="alice", since=hour_ago)}
        assert puppy in recent_ids and slippers not in recent_ids

        # An update keeps the previous version in the history.
        mem.update(puppy, text="I adopted a beagle puppy named Biscuit")
        print([v.text for v in mem.history(puppy)])

        # Errors carry the core's stable codes.
        try:
            mem.remember("   ", user="alice")
        except InvalidInputError as e:
            print(e.code, e.code_number)  # EMPTY_TEXT 2
        mem.forget(puppy)
        try:
            mem.get(puppy)
        except NotFoundError as e:  # also a KeyError
            print(e.code)  # NOT_FOUND

        # Keyword-only (BM25) or semantic-only recall; the default mode is "hybrid".
        exact = mem.recall("slippers", user="alice", mode="keyword")
        assert [h.memory.id for h in exact] == [slippers]

        # Retrieval options (docs/python.md quotes this block).
        hits = mem.recall(
            "what is my puppy called?", user="alice", limit=10,
            window="long",                 # "short" (20 min) | "medium" (1 h) | "long" (24 h) | seconds
            at=datetime.now(timezone.utc), # anchor of the window and of recency (default now)
            fusion="zscore",               # or "rrf"
            weights={"recency": 0.5, "recency_half_life_hours": 24, "who": 1.0},  # RankWeights keys
            mood={"valence": -0.6, "arousal": 0.2, "scores": {"sadness": 0.8}},  # mood congruence
            current_mood=False,            # use the user's current emotional state (emotion layer)
            track_access=True,             # count this recall in the hits' access statistics
        )
        b = hits[0].breakdown  # semantic, keyword (+ ranks), fused, context, recency, importance,
                               # arousal, access, mood, who, date; score == sum of the terms
        mem.recent("alice", "short")       # memories of the last 20 minutes, newest first
        frame = mem.context_frame("alice", "long")  # dict: who / what / when / where / emotion
        print(len(hits), b.fused, frame["memories"])

        # Which embedding model is in use, and why. The default embedder "auto" picks MiniLM
        # once scripts/fetch-model.sh has cached it, else falls back to hashing and says why.
        report = mem.selection_report()
        print(report["chosen"], report["model_id"], report["fallback_reason"])
        for decision in report["decisions"]:
            print(" ", decision["model"], decision["outcome"], decision["reason"])

        print(mem.stats()["memories"], "memories")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        quickstart(tmp)
