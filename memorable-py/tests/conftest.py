"""Shared fixtures of the Python binding tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from memorable import Memorable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def mem() -> Iterator[Memorable]:
    """A small in-memory store (8-dimensional hashing embedder)."""
    with Memorable.in_memory(hashing_dim=8) as m:
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
