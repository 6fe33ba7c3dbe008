"""Datastore fixtures: a local and an in-memory ``FsspecDatastore``, each with a fresh root."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from headrace.datastores.fsspec_store import FsspecDatastore


@pytest.fixture
def local_store(tmp_path: Path) -> FsspecDatastore:
    return FsspecDatastore.local("local-ds", tmp_path / "store")


@pytest.fixture
def memory_store() -> Iterator[FsspecDatastore]:
    root = f"headrace-test-{uuid.uuid4().hex}"
    yield FsspecDatastore("memory-ds", f"memory://{root}")
    fs = fsspec.filesystem("memory")
    if fs.exists(f"/{root}"):
        fs.rm(f"/{root}", recursive=True)


@pytest.fixture(params=["file", "memory"])
def any_store(request: pytest.FixtureRequest) -> FsspecDatastore:
    """Each test using this runs once per backend."""
    return request.getfixturevalue("local_store" if request.param == "file" else "memory_store")
