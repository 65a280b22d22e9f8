"""Operations from Python: metrics (and the Prometheus text, read by the reference parser),
health, alert callbacks (including one that raises), backup / verify / restore, a damaged
backup refused, per-user point-in-time restore, JSONL export / import."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import memorable
from memorable import Memorable, StorageError


def test_metrics_count_operations_and_prometheus_parses(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(**hashing) as mem:
        mem.remember("I adopted a puppy named Biscuit", user="alice")
        mem.remember_batch([{"text": "bob one", "user": "bob"}, {"text": "bob two", "user": "bob"}])
        mem.recall("puppy", user="alice")
        with pytest.raises(memorable.InvalidInputError):
            mem.remember("   ", user="alice")
        m = mem.metrics()
        assert m["counters"]["memories_written"] == 3
        assert m["counters"]["recalls"] == 1
        assert m["errors_by_code"] == {"EMPTY_TEXT": 1}
        assert m["latency"]["remember"]["count"] == 2
        assert m["latency"]["recall"]["p95_ms"] > 0
        assert m["gauges"]["memories_per_user"][0] == {"user": "bob", "memories": 2}
        assert m["store"]["backend"] == "sqlite"

        families = {f.name: f for f in text_string_to_metric_families(mem.metrics_prometheus())}
        written = families["memorable_memories_written"]
        assert written.type == "counter"
        assert written.samples[0].value == 3
        recall = families["memorable_recall_duration_seconds"]
        assert recall.type == "summary"
        quantiles = {s.labels.get("quantile"): s.value for s in recall.samples if s.name == recall.name}
        assert set(quantiles) == {"0.5", "0.95", "0.99"}
        errors = {s.labels["code"]: s.value for s in families["memorable_errors"].samples}
        assert errors == {"EMPTY_TEXT": 1}


def test_health(tmp_path: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(tmp_path / "s", **hashing) as mem:
        mem.remember("hello", user="alice")
        h = mem.health()
        assert h["status"] == "ok"
        assert [c["name"] for c in h["checks"]] == ["store", "index", "model", "disk", "memory"]
    with Memorable.open(tmp_path / "s", health={"disk_free_degraded_mb": 10**15}, **hashing) as mem:
        assert mem.health()["status"] == "degraded"


def test_alert_callbacks_fire_once_and_a_raising_callback_is_contained(
    hashing: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    raised: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)
    rules = [{"name": "errs", "metric": "errors", "above": 0}]
    with Memorable.in_memory(alerts={"enabled": False, "rules": rules}, **hashing) as mem:
        seen: list[dict[str, Any]] = []

        def broken(event: dict[str, Any]) -> None:
            raise RuntimeError("a broken alert callback")

        mem.on_alert(broken)
        sub = mem.on_alert(seen.append)
        with pytest.raises(memorable.InvalidInputError):
            mem.remember("", user="alice")
        fired = mem.evaluate_alerts()
        assert [e["state"] for e in fired] == ["firing"]
        assert len(raised) == 1 and isinstance(raised[0].exc_value, RuntimeError)
        assert mem.active_alerts()[0]["rule"] == "errs"
        resolved = mem.evaluate_alerts()
        assert len(raised) == 2, "the raising callback saw the resolution too"
        assert [e["state"] for e in resolved] == ["resolved"]
        assert [(e["rule"], e["state"]) for e in seen] == [("errs", "firing"), ("errs", "resolved")]
        assert mem.metrics()["counters"]["alert_callback_failures"] == 2
        # The engine carries on.
        mem.remember("still fine", user="alice")
        assert mem.remove_alert_callback(sub)
        with pytest.raises(TypeError):
            mem.on_alert(42)  # type: ignore[arg-type]


def test_alert_rules_change_without_reopening(hashing: dict[str, Any]) -> None:
    strict = [{"name": "errs", "metric": "errors", "above": 5}]
    with Memorable.in_memory(alerts={"enabled": False, "rules": strict}, **hashing) as mem:
        assert mem.alert_rules() == [{"name": "errs", "metric": "errors", "above": 5.0, "below": None, "for_ms": 0}]
        with pytest.raises(memorable.InvalidInputError):
            mem.remember("", user="alice")
        assert mem.evaluate_alerts() == []
        mem.set_alert_rules([{"name": "errs", "metric": "errors", "above": 0}])
        with pytest.raises(memorable.InvalidInputError):
            mem.remember("", user="alice")
        assert [e["state"] for e in mem.evaluate_alerts()] == ["firing"]
        before = mem.alert_rules()
        for bad in ([{"name": "x", "metric": "errors"}], [{"name": "x", "metric": "nope", "above": 1}], "rules"):
            with pytest.raises(memorable.InvalidInputError) as e:
                mem.set_alert_rules(bad)  # type: ignore[arg-type]
            assert e.value.code in ("INVALID_CONFIG", "INVALID_INPUT")
        assert mem.alert_rules() == before


def test_alerts_from_the_operations_thread(hashing: dict[str, Any]) -> None:
    rules = [{"name": "errs", "metric": "errors", "above": 0}]
    with Memorable.in_memory(alerts={"interval_ms": 20, "rules": rules}, **hashing) as mem:
        got = threading.Event()
        mem.on_alert(lambda e: got.set() if e["state"] == "firing" else None)
        with pytest.raises(memorable.InvalidInputError):
            mem.remember("", user="alice")
        assert got.wait(10), "the operations thread delivered the alert to Python"


def test_backup_verify_restore(tmp_path: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(tmp_path / "store", **hashing) as mem:
        mid = mem.remember("I adopted a puppy named Biscuit", user="alice")
        report = mem.backup(tmp_path / "b.mrbak")
        assert report["memories"] == 1
        with pytest.raises(StorageError) as e:
            mem.backup(tmp_path / "b.mrbak")
        assert e.value.code == "DESTINATION_EXISTS"
    v = memorable.verify(tmp_path / "b.mrbak")
    assert v["ok"] and v["kind"] == "backup"
    assert memorable.verify(tmp_path / "store")["ok"]
    r = memorable.restore(tmp_path / "b.mrbak", tmp_path / "restored")
    assert r["memories"] == 1
    with Memorable.open(tmp_path / "restored", **hashing) as back:
        assert back.get(mid).text == "I adopted a puppy named Biscuit"

    data = bytearray((tmp_path / "b.mrbak").read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / "bad.mrbak").write_bytes(bytes(data))
    v = memorable.verify(tmp_path / "bad.mrbak")
    assert not v["ok"] and v["problems"]
    with pytest.raises(StorageError) as e:
        memorable.restore(tmp_path / "bad.mrbak", tmp_path / "nope")
    assert e.value.code == "CORRUPT"
    assert not (tmp_path / "nope").exists()


def test_restore_user_and_export_import(tmp_path: Path, hashing: dict[str, Any]) -> None:
    with Memorable.open(tmp_path / "store", **hashing) as mem:
        a = mem.remember("I adopted a puppy named Biscuit", user="alice", place="Porto")
        b = mem.remember("My cat hates the vacuum", user="bob")
        time.sleep(0.01)
        at = dt.datetime.now(dt.timezone.utc)
        time.sleep(0.01)
        mem.update(a, text="Biscuit is a grown dog now", place="Lisbon")
        mem.update(b, text="My cat made peace with the vacuum")
        later = mem.remember("I started learning the cello", user="alice")
        report = mem.restore_user("alice", at)
        assert report["reverted"] == [a] and report["removed"] == [later]
        restored = mem.get(a)
        assert (restored.text, restored.place) == ("I adopted a puppy named Biscuit", "Porto")
        assert mem.get(b).text == "My cat made peace with the vacuum"

        assert mem.export_user("alice", tmp_path / "alice.jsonl", vectors=True) == 1
    with Memorable.open(tmp_path / "other", **hashing) as other:
        imported = other.import_jsonl(tmp_path / "alice.jsonl")
        assert imported == {"imported": 1, "vectors_kept": 1, "reembedded": 0}
        assert other.recall("puppy", user="alice")[0].memory.place == "Porto"
