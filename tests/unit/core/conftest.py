"""Fixtures for the pure definition layer: a scripts folder in tmp_path and a fake datastore."""

from __future__ import annotations

from pathlib import Path

import pytest


class FakeDatastore:
    """Stands in for the SDK's Datastore: core only reads `.name`."""

    def __init__(self, name: str = "workspaceblobstore"):
        self.name = name


@pytest.fixture
def ds() -> FakeDatastore:
    return FakeDatastore()


@pytest.fixture
def scripts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `scripts/` folder with prep.py, train.py and eval.py; the working directory is tmp_path."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name in ("prep.py", "train.py", "eval.py"):
        (folder / name).write_text("print('hi')\n")
    monkeypatch.chdir(tmp_path)
    return folder
