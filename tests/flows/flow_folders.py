"""``write_flow``: writes a flow folder (flow.yaml, tools, templates) under ``tmp_path`` for a test."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[..., Path]:
    """``write_flow("name", {"flow.yaml": "...", "tools.py": "..."})`` -> the folder (texts are dedented)."""

    def write(name: str, files: dict[str, str]) -> Path:
        folder = tmp_path / name
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return folder

    return write
