"""MemoRable from Python: remember, recall, update, forget.

Run: python examples/python/quickstart.py   (after `pip install ./memorable-py`)
This file is run by memorable-py/test.sh and checked with `mypy --strict`.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone

from memorable import InvalidInputError, Memorable, NotFoundError


def main() -> None:
    with tempfile.TemporaryDirectory() as path:
        # Open (or create) a store in a directory; `with` closes it.
        with Memorable.open(path, max_text_chars=2_000) as mem:
            puppy = mem.remember(
                "I adopted a puppy named Biscuit",
                user="alice",
                speaker="alice",
                session="chat-1",
                tags=["pets"],
                metadata={"source": "chat"},
            )
            mem.remember_batch(
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

            hits = mem.recall("what is my puppy called?", user="alice", limit=3)
            best = hits[0]
            print(f"{best.score:.4f} {best.memory.text!r} (fused rank of semantic "
                  f"#{best.breakdown.semantic_rank}, keyword #{best.breakdown.keyword_rank})")
            assert best.memory.id == puppy

            # Filters: tags, session, speaker, time range.
            pets = mem.recall("Biscuit", user="alice", tags=["pets"])
            assert {h.memory.text for h in pets} == {
                "I adopted a puppy named Biscuit",
                "Biscuit chewed my slippers",
            }
            today = mem.recall(
                "Biscuit", user="alice", since=datetime.now(timezone.utc) - timedelta(hours=1)
            )
            assert [h.memory.id for h in today] == [puppy]

            # Update keeps the previous version in the history.
            mem.update(puppy, text="I adopted a beagle puppy named Biscuit")
            print([v.text for v in mem.history(puppy)])

            # Errors carry stable codes.
            try:
                mem.remember("   ", user="alice")
            except InvalidInputError as e:
                print(e.code, e.code_number)  # EMPTY_TEXT 2
            mem.forget(puppy)
            try:
                mem.get(puppy)
            except NotFoundError as e:
                print(e.code)  # NOT_FOUND

            print(mem.stats()["memories"], "memories")


if __name__ == "__main__":
    main()
