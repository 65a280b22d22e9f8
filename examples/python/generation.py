"""MemoRable from Python: generate text and consolidate turns into summaries and facts.

Run: python examples/python/generation.py   (after `pip install ./memorable-py` and
`scripts/fetch-model.sh smollm2`). Run by memorable-py/test.sh and checked with
`mypy --strict`; docs/python.md quotes it.
"""

from __future__ import annotations

import tempfile

from memorable import Memorable


def generation(path: str) -> None:
    with Memorable.open(path, embedder="hashing", generator="smollm2") as mem:
        for speaker, text in [
            ("alice", "I adopted a beagle called Max last Saturday."),
            ("bob", "Lovely! I went hiking in Yosemite with my sister."),
        ]:
            mem.remember(text, user="alice", session="chat-1", speaker=speaker)

        # A chat turn (rendered with the GGUF's own chat template), greedy by default.
        out = mem.generate("Name three colours.", max_tokens=32)
        print(out["text"], out["finish_reason"], out["completion_tokens"], out["model"])

        # A raw completion, streamed: on_text gets each piece (return False to stop).
        mem.generate("Once upon a time", raw=True, temperature=0.8, seed=7, on_text=print)

        # JSON mode: the answer is one JSON object (constrained decoding on the local model).
        facts = mem.generate("Describe Paris in JSON.", json=True, answer_prefix='{"city": "')
        print(facts["text"])

        # Summaries and facts of a user's turns, linked to them (derived_from); "path" says
        # whether the generator or the extractive fallback wrote them.
        report = mem.consolidate("alice", session="chat-1", on_progress=lambda p: print(p))
        summary = mem.get(report["summaries"][0]["id"])
        print(summary.kind, summary.derived_from)

        job = mem.consolidate_in_background("alice")     # a job id
        print(mem.job(job)["state"])                      # queued / running / succeeded / ...


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        generation(tmp)
