"""docs/python.md quotes examples/python/quickstart.py, generation.py and
custom_classifier.py; keep every Python snippet in step, and the examples running."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_doc_snippets_come_from_the_quickstart(repo: Path) -> None:
    docs = (repo / "docs" / "python.md").read_text()
    examples = [
        stripped_lines((repo / "examples" / "python" / name).read_text())
        for name in ("quickstart.py", "generation.py", "custom_classifier.py")
    ]
    snippets = re.findall(r"```python\n(.*?)```", docs, re.S)
    assert snippets
    for snippet in snippets:
        lines = stripped_lines(snippet)
        assert any(
            example[i : i + len(lines)] == lines for example in examples for i in range(len(example))
        ), f"docs snippet not found in quickstart.py or generation.py:\n{snippet}"


def test_quickstart_runs(repo: Path, tmp_path: Path) -> None:
    import runpy

    namespace = runpy.run_path(str(repo / "examples" / "python" / "quickstart.py"))
    namespace["quickstart"](str(tmp_path))


def test_generation_example_runs(repo: Path, tmp_path: Path) -> None:
    import runpy

    namespace = runpy.run_path(str(repo / "examples" / "python" / "generation.py"))
    namespace["generation"](str(tmp_path))


def test_custom_classifier_example_runs(
    repo: Path, tmp_path: Path, models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example trains, deploys and classifies; its version goes to a private model cache
    (the `models` fixture), not the machine's."""
    import runpy

    monkeypatch.setenv("MEMORABLE_MODEL_DIR", str(models))
    namespace = runpy.run_path(str(repo / "examples" / "python" / "custom_classifier.py"))
    namespace["custom_classifier"](str(tmp_path / "store"))
