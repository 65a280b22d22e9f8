"""The PostgreSQL store through Python: `Memorable.open(url)` on the test cluster.

`scripts/test.sh` starts a throwaway cluster and names it in MEMORABLE_TEST_PG_URL; without
it these tests fail, unless MEMORABLE_SKIP_PG=1 asks to skip them (reported as skipped).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from memorable import Memorable, NotFoundError, StorageError, restore, verify

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of this test's own on the cluster, dropped afterwards."""
    admin = os.environ.get("MEMORABLE_TEST_PG_URL")
    if not admin:
        if os.environ.get("MEMORABLE_SKIP_PG") == "1":
            pytest.skip("MEMORABLE_SKIP_PG=1")
        pytest.fail("MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)")
    name = f"py_{uuid.uuid4().hex[:12]}"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)


def test_round_trip_on_postgres(pg_url: str, hashing: dict[str, Any]) -> None:
    with Memorable.open(pg_url, **hashing) as mem:
        mid = mem.remember(
            "I adopted a puppy named Biscuit",
            user="alice",
            occurred_at=T0,
            tags=["pets"],
            metadata={"source": "chat", "n": 3},
            importance=0.75,
        )
        before = mem.get(mid)
    # A second handle (another instance would do the same) reads what the first wrote.
    with Memorable.open(pg_url, **hashing) as mem:
        m = mem.get(mid)
        assert m == before
        assert (m.user, m.text, m.tags, m.metadata) == ("alice", "I adopted a puppy named Biscuit", ["pets"], {"source": "chat", "n": 3})
        assert m.occurred_at == T0
        hits = mem.recall("what is my puppy called?", user="alice")
        assert hits[0].memory.id == mid
        assert mem.recall("puppy", user="bob") == []
        mem.forget(mid)
        with pytest.raises(NotFoundError):
            mem.get(mid)


def test_backup_verify_restore_on_postgres(pg_url: str, hashing: dict[str, Any], tmp_path: Any) -> None:
    with Memorable.open(pg_url, **hashing) as mem:
        mid = mem.remember("I adopted a puppy named Biscuit", user="alice", tags=["pets"])
        report = mem.backup(tmp_path / "pg.mrbak")
        assert report["memories"] == 1
        assert mem.metrics()["store"]["backend"] == "postgres"
    assert verify(pg_url)["ok"] is True
    assert verify(tmp_path / "pg.mrbak")["ok"] is True
    restore(tmp_path / "pg.mrbak", tmp_path / "restored")
    with Memorable.open(tmp_path / "restored", **hashing) as mem:
        assert mem.get(mid).tags == ["pets"]
        assert mem.recall("puppy", user="alice")[0].memory.id == mid
    # Never over a database that holds a store.
    with pytest.raises(StorageError) as err:
        restore(tmp_path / "pg.mrbak", pg_url)
    assert err.value.code == "DESTINATION_EXISTS"


def test_an_unreachable_server_is_store_unavailable_without_the_password() -> None:
    with pytest.raises(StorageError) as err:
        Memorable.open("postgres://app:hunter2@127.0.0.1:1/none", embedder="hashing")
    assert err.value.code == "STORE_UNAVAILABLE"
    assert "hunter2" not in str(err.value)
