"""Fixtures of the Dask target tests: a real cluster, and a home whose artifacts and data are on S3.

``dask_cluster`` (one per test session) is a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1, of one thread each, ``w1`` with the resource ``GPU=1`` (see ``dask_cluster.py``). ``dask_ws`` is a workspace with its artifact area in a new bucket of the
S3 emulator (``HEADRACE_TEST_S3_ENDPOINT``, started by ``scripts/test.sh``), an S3 datastore ``lake``
and a Dask compute target ``cluster``. Without the emulator these tests fail in CI and skip elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dask_cluster import DaskCluster, make_dask_ws


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"), workers=2, threads=1, resources={"w1": "GPU=1"})
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def dask_ws(tmp_path: Path, dask_cluster: DaskCluster, monkeypatch: pytest.MonkeyPatch):
    return make_dask_ws(tmp_path / "home", dask_cluster.address, monkeypatch)
