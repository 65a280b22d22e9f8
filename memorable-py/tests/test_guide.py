"""docs/guide.md: every ```python block runs as written, each in a fresh scratch directory
(the blocks open the store "memories" relative to it), against the installed package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block."""
    text = GUIDE.read_text()
    return [
        (text[: m.start()].count("\n") + 1, m.group(1))
        for m in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M)
    ]


def test_the_guide_has_python_blocks() -> None:
    assert len(python_blocks()) >= 4


@pytest.mark.parametrize("line,code", python_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "code")
def test_guide_block_runs(line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMORABLE_KEY", raising=False)
    exec(compile(code, f"docs/guide.md:{line}", "exec"), {"__name__": "__guide__"})
