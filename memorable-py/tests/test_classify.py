"""Text emotion classification through Python: `Memorable.classify` with the shipped
GoEmotions classifier on MiniLM, and its refusal (with the reason) on other embedders.

Needs MiniLM in the model cache (scripts/fetch-model.sh); without it these FAIL, never skip.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import FETCH_HINT
from memorable import InvalidInputError, Memorable, ModelError


@pytest.fixture(scope="module")
def minilm_mem() -> Any:
    try:
        mem = Memorable.in_memory(embedder="minilm")
    except ModelError as e:
        pytest.fail(f"{FETCH_HINT}\n(core: {e})")
    yield mem
    mem.close()


def test_classify_reads_emotions(minilm_mem: Memorable) -> None:
    before = minilm_mem.stats()["classifier"]
    assert before["available"] is True
    out = minilm_mem.classify(["Thank you so much for your help, I really appreciate it!", "What time is it?"])
    assert [r["text"] for r in out] == ["Thank you so much for your help, I really appreciate it!", "What time is it?"]
    first = out[0]
    assert set(first) == {"text", "scores", "labels"}
    assert len(first["scores"]) == 28
    assert all(0.0 <= p <= 1.0 for p in first["scores"].values())
    assert "gratitude" in first["labels"]
    # Labels are over their thresholds, most probable first.
    probs = [first["scores"][label] for label in first["labels"]]
    assert probs == sorted(probs, reverse=True)
    after = minilm_mem.stats()["classifier"]
    assert after["loaded"] is True
    # The classifier runs on the store's own embedder: one pass per remembered text.
    assert after["shared_pass"] is True


def test_classify_bad_input(minilm_mem: Memorable) -> None:
    assert minilm_mem.classify([]) == []
    with pytest.raises(InvalidInputError) as e:
        minilm_mem.classify(["fine", "   "])
    assert e.value.code == "EMPTY_TEXT"
    with pytest.raises(TypeError):
        minilm_mem.classify("a string is not a list of texts")  # type: ignore[arg-type]


def test_classify_is_off_with_the_hashing_embedder(mem: Memorable) -> None:
    status = mem.stats()["classifier"]
    assert status["available"] is False
    assert "all-MiniLM-L6-v2" in status["reason"]
    with pytest.raises(ModelError) as e:
        mem.classify(["hello"])
    assert (e.value.code, e.value.code_number) == ("CLASSIFIER_UNAVAILABLE", 35)


def test_same_scores_as_the_cli(minilm_mem: Memorable, cli: Path) -> None:
    texts = ["I am so proud of you!", "This is disgusting."]
    lines = subprocess.run([cli, "classify", *texts], check=True, capture_output=True, text=True).stdout
    from_cli = [json.loads(line) for line in lines.splitlines()]
    from_py = minilm_mem.classify(texts)
    assert [r["labels"] for r in from_cli] == [r["labels"] for r in from_py]
    for a, b in zip(from_cli, from_py):
        assert a["scores"].keys() == b["scores"].keys()
        assert all(abs(a["scores"][k] - b["scores"][k]) < 1e-5 for k in a["scores"])
