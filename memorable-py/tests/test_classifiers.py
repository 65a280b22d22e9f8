"""Custom classifiers through Python: import examples, train (quick preset), evaluate,
deploy, classify with the new labels, keep a model that does not win as a candidate, roll
back to exact predictions, cancel a queued job, per-user calibration, bad input.

Needs MiniLM in the model cache (scripts/fetch-model.sh); without it these FAIL, never skip.
Trained versions go to a private model cache (the real MiniLM linked in).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from memorable import InvalidInputError, Memorable, NotFoundError

FIXTURE = REPO / "tests" / "fixtures" / "emotion_examples.jsonl"


@pytest.fixture
def store(tmp_path: Path, models: Path) -> Iterator[Memorable]:
    with Memorable.open(
        tmp_path / "store",
        embedder="minilm",
        model_dir=str(models),
        classifiers={"run_jobs": False, "personalize_min_corrections": 5},
    ) as m:
        yield m


def test_import_train_deploy_classify_rollback(store: Memorable, tmp_path: Path) -> None:
    r = store.import_examples("moods", FIXTURE)
    assert (r["added"], r["duplicates"], r["created"]) == (270, 0, True)
    info = store.classifier("moods")
    assert info["labels"] == ["anger", "joy", "sadness"] and info["deployed"] is None
    stats = store.example_stats("moods")
    assert stats["per_label"] == {"anger": 90, "joy": 90, "sadness": 90}

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "labels": ["joy"]}\n{"text": "x", "labels": ["fear"]}\n')
    with pytest.raises(InvalidInputError) as e:
        store.import_examples("moods", bad)
    assert e.value.code == "INVALID_INPUT" and "line 2" in str(e.value)
    assert store.example_stats("moods") == stats

    phases: list[str] = []

    def progress(p: dict[str, Any]) -> bool:
        if not phases or phases[-1] != p["phase"]:
            phases.append(p["phase"])
        return True

    job = store.train_and_wait("moods", on_progress=progress, threads=2)
    assert job["state"] == "succeeded", job
    assert phases == ["features", "train", "evaluate"]
    result = job["result"]
    assert result["deployed"] is True and result["current"] is None
    assert result["new"]["macro_f1"] > 0.9
    assert {l["label"] for l in result["new"]["per_label"]} == {"anger", "joy", "sadness"}

    texts = ["I am absolutely furious with the landlord", "We won! Best day ever, I'm so happy"]
    first = store.classify(texts, classifier="moods")
    assert first[0]["labels"][0] == "anger" and first[1]["labels"][0] == "joy"
    assert len(store.classify(["so happy"])[0]["scores"]) == 28  # the shipped default

    again = store.train_and_wait("moods", threads=2)
    assert again["result"]["deployed"] is False
    assert "candidate" in again["result"]["decision"]

    other = store.train_and_wait("moods", threads=2, seed=7, epochs=3, deploy="never")
    store.deploy_classifier("moods", other["result"]["version"])
    assert store.classify(texts, classifier="moods") != first
    back = store.rollback_classifier("moods")
    assert back["version"] == result["version"]
    assert store.classify(texts, classifier="moods") == first

    out = tmp_path / "examples.jsonl"
    assert store.export_examples("moods", out) == 270
    assert json.loads(out.read_text().splitlines()[0])["source"] == "import:emotion_examples.jsonl"


def test_queue_cancel_calibrate_and_errors(store: Memorable) -> None:
    store.import_examples("moods", FIXTURE)
    queued = store.train("moods", threads=2)
    assert store.job(queued)["state"] == "queued"
    assert store.cancel_job(queued)["state"] == "cancelled"
    assert store.classifier("moods")["deployed"] is None

    with pytest.raises(InvalidInputError):
        store.train("moods", preset="huge")
    with pytest.raises(InvalidInputError):
        store.train("moods", no_such_option=1)
    with pytest.raises(NotFoundError):
        store.classify(["x"], classifier="nope")

    store.train_and_wait("moods", threads=2)
    ids = store.remember_batch([{"user": "dana", "text": f"I feel so sad and alone about thing {i}"} for i in range(6)])
    sad = "I feel so sad and alone about everything"
    assert "sadness" in store.classify([sad], classifier="moods", user="dana")[0]["labels"]
    for i in ids:
        store.correct(i, ["anger"], "moods")
    cal = store.calibrate("moods", "dana")
    assert cal is not None and cal["thresholds"]["sadness"] > 1.0
    assert "sadness" not in store.classify([sad], classifier="moods", user="dana")[0]["labels"]
    assert "sadness" in store.classify([sad], classifier="moods")[0]["labels"]
    store.forget_user("dana")
    assert store.example_stats("moods")["corrections"] == 0
