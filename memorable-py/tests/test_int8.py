"""The int8 embedder (`minilm-int8`) through Python: a store made with it carries its own model
id, recalls and classifies, and refuses the f32 model; `auto` keeps it.

Needs MiniLM in the model cache (scripts/fetch-model.sh); without it these FAIL, never skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FETCH_HINT
from memorable import Memorable, ModelError

INT8_ID = "sentence-transformers/all-MiniLM-L6-v2+int8"


def test_minilm_int8_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    try:
        mem = Memorable.open(store, embedder="minilm-int8")
    except ModelError as e:
        pytest.fail(f"{FETCH_HINT}\n(core: {e})")
    with mem:
        dog = mem.remember("Biscuit the puppy learned to sit", user="ann")
        mem.remember("The quarterly report is due on Friday", user="ann")
        hits = mem.recall("what did my dog learn?", user="ann", limit=1)
        assert hits[0].memory.id == dog
        assert mem.stats()["embedder"]["model_id"] == INT8_ID
        assert "gratitude" in mem.classify(["Thank you so much, I really appreciate it!"])[0]["labels"]
    with pytest.raises(ModelError) as err:
        Memorable.open(store, embedder="minilm")
    assert err.value.code == "MODEL_MISMATCH"
    with Memorable.open(store) as mem:
        assert mem.stats()["embedder"]["model_id"] == INT8_ID
