"""Encryption at rest through Python: `encryption_key=` (or MEMORABLE_KEY), WRONG_KEY without
it, no plaintext in any file, sealed exports, verify / restore with `key=`, and `rekey`."""

from __future__ import annotations

from pathlib import Path

import pytest

import memorable
from memorable import Memorable, StorageError

HASHING = {"embedder": "hashing"}
SECRET = "Glimmerwhack"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _containing(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in _files(root) if needle in p.read_bytes()]


def test_encrypted_store_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORABLE_KEY", raising=False)
    store = tmp_path / "store"
    with Memorable.open(store, encryption_key="py-key-1", **HASHING) as mem:
        mid = mem.remember(f"my secret word is {SECRET}", user="ann")
        for i in range(50):
            mem.remember(f"filler note {i}", user="ann")
        mem.backup(tmp_path / "b.mrbak")
        mem.export_user("ann", tmp_path / "ann.jsonl")
    assert _containing(tmp_path, SECRET.encode()) == []
    assert _containing(tmp_path, b"py-key-1") == []

    for kwargs in ({}, {"encryption_key": "nope"}):
        with pytest.raises(StorageError) as e:
            Memorable.open(store, **HASHING, **kwargs)
        assert (e.value.code, e.value.code_number) == ("WRONG_KEY", 29)
        assert "py-key-1" not in str(e.value) and "nope" not in str(e.value)

    # MEMORABLE_KEY is the default key.
    monkeypatch.setenv("MEMORABLE_KEY", "py-key-1")
    with Memorable.open(store, **HASHING) as mem:
        assert SECRET in mem.get(mid).text
    monkeypatch.delenv("MEMORABLE_KEY")

    with pytest.raises(StorageError) as e:
        memorable.verify(tmp_path / "b.mrbak")
    assert e.value.code == "WRONG_KEY"
    assert memorable.verify(tmp_path / "b.mrbak", key="py-key-1")["ok"]
    memorable.restore(tmp_path / "b.mrbak", tmp_path / "restored", key="py-key-1")
    with Memorable.open(tmp_path / "restored", encryption_key="py-key-1", **HASHING) as mem:
        assert mem.stats()["memories"] == 51

    with pytest.raises(StorageError) as e:
        memorable.rekey(store, "wrong", "py-key-2")
    assert e.value.code == "WRONG_KEY"
    memorable.rekey(store, "py-key-1", "py-key-2")
    with pytest.raises(StorageError):
        Memorable.open(store, encryption_key="py-key-1", **HASHING)
    with Memorable.open(store, encryption_key="py-key-2", **HASHING) as mem:
        assert mem.stats()["memories"] == 51

    # The sealed export imports into a store with the key it was sealed with.
    with Memorable.open(tmp_path / "other", encryption_key="py-key-1", **HASHING) as mem:
        assert mem.import_jsonl(tmp_path / "ann.jsonl")["imported"] == 51


def test_a_plain_store_refuses_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORABLE_KEY", raising=False)
    with Memorable.open(tmp_path / "plain", **HASHING) as mem:
        mem.remember("plain text", user="ann")
    with pytest.raises(StorageError) as e:
        Memorable.open(tmp_path / "plain", encryption_key="k", **HASHING)
    assert e.value.code == "WRONG_KEY"
    with pytest.raises(StorageError) as e:
        memorable.rekey(tmp_path / "plain", "a", "b")
    assert e.value.code == "WRONG_KEY"
