"""Teach MemoRable your own emotion labels: collect labelled texts, train a classifier on the
device, evaluate it against what is deployed, deploy it, and read texts with it.

    python examples/python/custom_classifier.py [STORE_DIR]

Needs the MiniLM in the model cache (scripts/fetch-model.sh). The trained version is installed
in the model cache's registry (`memorable models list`). docs/custom-classifiers.md.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from typing import Any

from memorable import Memorable

THINGS = ["the new job", "the concert", "our trip", "the garden", "the wedding", "my old car", "the project", "the move"]
TEMPLATES = {
    "joy": ["I am so happy about {}!", "What a wonderful day, {} was perfect.", "{} made me smile all week."],
    "anger": ["I am furious about {}.", "{} makes me so angry.", "I'm fed up and livid about {}."],
    "sadness": ["I feel so sad about {}.", "{} left me heartbroken.", "I cried thinking about {}."],
}


def show(progress: dict[str, Any]) -> bool:
    if progress["message"]:
        print(progress["message"])
    return True


def custom_classifier(path: str) -> None:
    examples = [
        {"text": template.format(thing), "labels": [label]}
        for label, templates in TEMPLATES.items()
        for template, thing in itertools.product(templates, THINGS)
    ]
    with Memorable.open(path, embedder="minilm", classifiers={"run_jobs": False}) as mem:
        mem.add_examples("moods", examples)                  # all or nothing; creates "moods"
        print(mem.example_stats("moods")["per_label"])      # {"anger": 24, "joy": 24, "sadness": 24}
        job = mem.train_and_wait("moods", preset="quick", threads=2, on_progress=show)
        result = job["result"]
        print(result["new"]["macro_f1"], result["deployed"], result["decision"])
        print(mem.classify(["I can't believe they wrecked my car"], classifier="moods")[0]["labels"])
        memory_id = mem.remember("Honestly the move was a disaster", user="dana")
        mem.correct(memory_id, ["sadness"], "moods")         # dana's correction: her calibration
        assert job["state"] == "succeeded"


if __name__ == "__main__":
    custom_classifier(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
