"""Error mapping: class by the core's code category, `.code` / `.code_number` stable."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from memorable import (
    InvalidInputError,
    Memorable,
    MemorableError,
    ModelError,
    NotFoundError,
    StorageError,
)


def test_hierarchy() -> None:
    assert issubclass(InvalidInputError, MemorableError) and issubclass(InvalidInputError, ValueError)
    assert issubclass(NotFoundError, MemorableError) and issubclass(NotFoundError, KeyError)
    assert issubclass(StorageError, MemorableError) and issubclass(StorageError, OSError)
    assert issubclass(ModelError, MemorableError) and issubclass(ModelError, RuntimeError)


@pytest.mark.parametrize(
    ("kwargs", "code", "number"),
    [
        ({"text": ""}, "EMPTY_TEXT", 2),
        ({"text": "  \n\t"}, "EMPTY_TEXT", 2),
        ({"text": "x" * 10_001}, "TEXT_TOO_LONG", 3),
        ({"user": ""}, "MISSING_USER", 4),
        ({"user": "   "}, "MISSING_USER", 4),
        ({"metadata": [1, 2]}, "INVALID_METADATA", 6),
        ({"metadata": {"when": datetime.now()}}, "INVALID_METADATA", 6),
        ({"metadata": {1: "int key"}}, "INVALID_METADATA", 6),
        ({"embedding": [1.0, 2.0]}, "INVALID_VECTOR", 5),
        ({"embedding": [float("nan")] * 384}, "INVALID_VECTOR", 5),
        ({"importance": 2.0}, "INVALID_INPUT", 1),
        ({"lat": 91.0}, "INVALID_INPUT", 1),
        ({"occurred_at": datetime(2024, 5, 8, 12, 0)}, "INVALID_INPUT", 1),  # naive
    ],
)
def test_invalid_input(
    kwargs: dict[str, object], code: str, number: int, hashing: dict[str, Any]
) -> None:
    args: dict[str, object] = {"text": "hello", "user": "alice", **kwargs}
    text = args.pop("text")
    with Memorable.in_memory(**hashing) as mem:
        with pytest.raises(InvalidInputError) as e:
            mem.remember(text, **args)  # type: ignore[arg-type]
        assert isinstance(e.value, ValueError)
        assert (e.value.code, e.value.code_number) == (code, number)
        assert mem.stats()["memories"] == 0


def test_too_long_message_is_the_cores(mem: Memorable) -> None:
    with pytest.raises(InvalidInputError, match="10001 characters, over the limit of 10000"):
        mem.remember("x" * 10_001, user="alice")


def test_naive_datetimes_rejected_everywhere(mem: Memorable) -> None:
    naive = datetime(2024, 5, 8, 12, 0)
    calls = [
        lambda: mem.recall("q", user="alice", since=naive),
        lambda: mem.recall("q", user="alice", until=naive),
        lambda: mem.recent(user="alice", since=naive),
        lambda: mem.recall("q", user="alice", mode="keyword", since=naive),
        lambda: mem.remember_batch([{"text": "t", "user": "alice", "occurred_at": naive}]),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="naive datetime") as e:
            call()
        assert e.value.code == "INVALID_INPUT"


def test_recall_input_errors(mem: Memorable) -> None:
    for kwargs, code in [
        ({"query": ""}, "EMPTY_TEXT"),
        ({"user": ""}, "MISSING_USER"),
        ({"limit": 0}, "INVALID_INPUT"),
        ({"limit": 1001}, "INVALID_INPUT"),
        ({"mode": "fuzzy"}, "INVALID_INPUT"),
        ({"mode": "Keyword"}, "INVALID_INPUT"),
    ]:
        args: dict[str, object] = {"query": "q", "user": "alice", **kwargs}
        query = args.pop("query")
        with pytest.raises(InvalidInputError) as e:
            mem.recall(query, **args)  # type: ignore[arg-type]
        assert e.value.code == code


def test_unknown_id_is_not_found_and_key_error(mem: Memorable) -> None:
    for call in (
        lambda: mem.get(12345),
        lambda: mem.update(12345, text="x"),
        lambda: mem.history(12345),
        lambda: mem.forget(12345),
    ):
        with pytest.raises(KeyError) as e:
            call()
        assert isinstance(e.value, NotFoundError)
        assert (e.value.code, e.value.code_number) == ("NOT_FOUND", 10)
        assert str(e.value) == "no memory with id 12345"  # not quoted like a plain KeyError


def test_store_locked_by_second_open(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, **hashing):
        with pytest.raises(StorageError) as e:
            Memorable.open(store_dir, **hashing)
        assert isinstance(e.value, OSError)
        assert (e.value.code, e.value.code_number) == ("LOCKED", 21)
        assert "locked" in str(e.value)


def test_store_problems_are_storage_errors(tmp_path: Path, hashing: dict[str, Any]) -> None:
    # A directory that cannot be created (a file is in the way).
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(StorageError) as e:
        Memorable.open(tmp_path / "plain-file" / "store", **hashing)
    assert isinstance(e.value, OSError)
    assert (e.value.code, e.value.code_number) == ("NOT_WRITABLE", 22)

    # A database file that is not one.
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    (bogus / "memorable.db").write_bytes(bytes([7]) * 4096)
    with pytest.raises(StorageError) as e:
        Memorable.open(bogus, **hashing)
    assert (e.value.code, e.value.code_number) == ("CORRUPT", 24)

    # A store written by a newer MemoRable is refused and left untouched.
    newer = tmp_path / "newer"
    with Memorable.open(newer, **hashing) as mem:
        mem.remember("written by this version", user="alice")
    with sqlite3.connect(newer / "memorable.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError) as e:
        Memorable.open(newer, **hashing)
    assert (e.value.code, e.value.code_number) == ("NEWER_VERSION", 23)
    assert "newer" in str(e.value)
    with sqlite3.connect(newer / "memorable.db") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (99,)


def test_missing_model_is_model_error(tmp_path: Path) -> None:
    # An explicit model is used or refused, never replaced: MODEL when it is not cached.
    with pytest.raises(ModelError) as e:
        Memorable.in_memory(embedder="minilm", model_dir=str(tmp_path))
    assert isinstance(e.value, RuntimeError)
    assert (e.value.code, e.value.code_number) == ("MODEL", 30)


def test_model_mismatch_is_model_error(store_dir: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(store_dir, hashing_dim=8, **hashing) as mem:
        mem.remember("made with 8 dimensions", user="alice")
    with pytest.raises(ModelError) as e:
        Memorable.open(store_dir, hashing_dim=16, **hashing)
    assert isinstance(e.value, RuntimeError)
    assert (e.value.code, e.value.code_number) == ("MODEL_MISMATCH", 31)


def test_use_after_close_is_plain_memorable_error(hashing: dict[str, Any]) -> None:
    mem = Memorable.in_memory(**hashing)
    mem.close()
    with pytest.raises(MemorableError) as e:
        mem.remember("x", user="alice")
    assert not isinstance(e.value, (ValueError, KeyError, OSError, RuntimeError))
    assert e.value.code == "CLOSED"


def test_errors_pickle(hashing: dict[str, Any]) -> None:
    mem = Memorable.in_memory(**hashing)
    with pytest.raises(NotFoundError) as e:
        mem.get(7)
    again = pickle.loads(pickle.dumps(e.value))
    assert type(again) is NotFoundError
    assert (again.code, again.code_number, str(again)) == ("NOT_FOUND", 10, "no memory with id 7")


def _documented_codes() -> list[tuple[int, str, str]]:
    """The rows of docs/errors.md's code table: (number, name, family)."""
    doc = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
    rows = []
    for line in doc.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].isdigit():
            rows.append((int(cells[1]), cells[2].strip("`"), cells[3]))
    return rows


def test_error_codes_are_the_core_table_and_the_docs() -> None:
    import memorable

    assert [(n, name, family) for n, name, family, _ in memorable.ERROR_CODES] == _documented_codes()
    classes = {
        "invalid input": "InvalidInputError",
        "not found": "NotFoundError",
        "storage": "StorageError",
        "model": "ModelError",
        "remote": "RemoteError",
        "other": "MemorableError",
    }
    for _, name, family, cls in memorable.ERROR_CODES:
        assert cls == classes[family], name
        assert issubclass(getattr(memorable, cls), MemorableError)
    assert (35, "CLASSIFIER_UNAVAILABLE", "model", "ModelError") in memorable.ERROR_CODES
