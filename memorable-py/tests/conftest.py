"""Shared fixtures of the Python binding tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memorable import Memorable

REPO = Path(__file__).resolve().parents[2]

FETCH_HINT = (
    "the MiniLM model is not in the model cache: run scripts/fetch-model.sh "
    "(it downloads it into ~/.cache/memorable/models, or $MEMORABLE_MODEL_DIR)"
)


@pytest.fixture
def repo() -> Path:
    return REPO


def real_model_cache() -> Path:
    """The machine's model cache, as the library finds it."""
    if os.environ.get("MEMORABLE_MODEL_DIR"):
        return Path(os.environ["MEMORABLE_MODEL_DIR"])
    if os.environ.get("MEMORABLE_HOME"):
        return Path(os.environ["MEMORABLE_HOME"]) / "models"
    return Path.home() / ".cache" / "memorable" / "models"


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A private model cache with the real MiniLM linked in: tests that train install their
    versions there, never in the machine's cache."""
    real = real_model_cache() / "minilm"
    if not (real / "model.safetensors").is_file():
        pytest.fail(FETCH_HINT)
    cache = tmp_path / "models"
    for f in real.rglob("*"):
        if f.is_file():
            to = cache / "minilm" / f.relative_to(real)
            to.parent.mkdir(parents=True, exist_ok=True)
            to.symlink_to(f)
    return cache


@pytest.fixture
def hashing() -> dict[str, Any]:
    """Config keywords pinning the hashing embedder.

    With MiniLM cached, the default embedder ("auto") is MiniLM (~100 sentences/s on a CPU);
    tests that do not need meaning use these so the suite stays fast. Tests of model
    selection and re-embedding (test_models.py) use the real models.
    """
    return {"embedder": "hashing"}


@pytest.fixture
def mem(hashing: dict[str, Any]) -> Iterator[Memorable]:
    """A small in-memory store (8-dimensional hashing embedder)."""
    with Memorable.in_memory(hashing_dim=8, **hashing) as m:
        yield m


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def cli() -> Path:
    """The Rust CLI; missing is a failure, not a skip (interop must be tested)."""
    path = Path(os.environ.get("MEMORABLE_BIN", REPO / "target" / "release" / "memorable"))
    if not path.is_file():
        pytest.fail(
            f"MemoRable CLI not found at {path}: build it with `cargo build --release` "
            "or set MEMORABLE_BIN"
        )
    return path
