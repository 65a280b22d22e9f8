"""The model registry through Python: update from a source, the versions in stats(), rollback,
reload_models, gc. Needs MiniLM in the model cache (fails, never skips, without it)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import FETCH_HINT
from memorable import Memorable, ModelError, models_gc, models_list, models_rollback, models_update


def _minilm_dir() -> Path:
    try:
        with Memorable.in_memory(embedder="minilm") as mem:
            report = mem.selection_report()
    except ModelError as e:
        pytest.fail(f"{FETCH_HINT}\n(core: {e})")
    return Path(report["model_dir"]) / "minilm"


def _link_tree(src: Path, dst: Path) -> list[dict[str, object]]:
    """Hard-link (or copy) src's files into dst; their manifest entries."""
    files = []
    for path in sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(src)
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            target.write_bytes(path.read_bytes())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append({"path": rel.as_posix(), "sha256": digest, "size": path.stat().st_size})
    return files


def _minilm_version(versions: list[dict], version: str) -> dict:
    return next(v for v in versions if v["name"] == "minilm" and v["version"] == version)


def test_update_rollback_reload_and_gc(tmp_path: Path) -> None:
    minilm = _minilm_dir()
    cache, source = tmp_path / "cache", tmp_path / "source"
    _link_tree(minilm, cache / "minilm")
    files = _link_tree(minilm, source / "minilm-0.1.1")
    entry = {
        "name": "minilm",
        "role": "embedding",
        "model_id": "sentence-transformers/all-MiniLM-L6-v2",
        "backend": "candle-bert",
        "dim": 384,
        "max_seq_length": 256,
        "source": {"kind": "folder", "package": "", "version": "0.1.1", "folder": "minilm-0.1.1"},
        "files": files,
    }
    (source / "index.json").write_text(json.dumps({"version": 1, "models": [entry]}))

    assert _minilm_version(models_list(model_dir=cache), "0.1.0")["state"] == "active"
    activated = models_update("minilm", source=source, model_dir=cache)
    assert [v["version"] for v in activated] == ["0.1.1"]
    assert activated[0]["verification"]["probe_cosine"] >= 0.9999
    versions = models_list(model_dir=cache)
    assert _minilm_version(versions, "0.1.0")["state"] == "previous"
    assert _minilm_version(versions, "0.1.1")["state"] == "active"
    assert models_update("minilm", source=source, model_dir=cache) == [], "already the newest"

    with Memorable.open(tmp_path / "store", embedder="minilm", model_dir=str(cache), generator="none") as mem:
        in_use = [m for m in mem.stats()["models"] if m["name"] == "minilm"]
        assert in_use == [{"role": "embedding", "name": "minilm", "version": "0.1.1"}]
        assert models_rollback("minilm", model_dir=cache)["version"] == "0.1.0"
        with pytest.raises(ModelError) as e:
            models_rollback("minilm", model_dir=cache)
        assert e.value.code == "NO_PREVIOUS_VERSION"
        # The open store still uses 0.1.1: gc keeps it until the handle reloads.
        assert models_gc(model_dir=cache)["in_use"] == ["minilm@0.1.1"]
        mem.reload_models()
        assert [m["version"] for m in mem.stats()["models"] if m["name"] == "minilm"] == ["0.1.0"]
        report = models_gc(model_dir=cache)
        assert report["removed"] == ["minilm@0.1.1"]
        assert not (cache / "minilm@0.1.1").exists()
