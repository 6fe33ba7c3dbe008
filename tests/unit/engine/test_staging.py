"""``SnapshotCopier``: a step's source folder gets exactly the snapshot's files, however often."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.snapshots import store_snapshot
from headrace.engine.staging import SnapshotCopier
from headrace.errors import DatastoreError


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "source"
    (src / "pkg" / "sub").mkdir(parents=True)
    (src / "main.py").write_text("print('hi')\n")
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "sub" / "data.txt").write_text("payload")
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(src / "run.sh", 0o755)
    return src


@pytest.fixture
def artifacts(tmp_path):
    return FsspecDatastore("_artifacts", (tmp_path / "artifacts").as_uri())


def tree(root):
    return sorted(
        (str(p.relative_to(root)), p.read_bytes() if p.is_file() else None, bool(p.stat().st_mode & stat.S_IXUSR))
        for p in root.rglob("*")
    )


def test_every_copy_has_the_snapshot_files_and_modes(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    first, second = tmp_path / "w1" / "src", tmp_path / "w2" / "src"
    first.parent.mkdir()
    second.parent.mkdir()
    copier.materialize(digest, first)  # extracts into the cache
    copier.materialize(digest, second)  # copies from the remembered listing
    assert tree(first) == tree(source)
    assert tree(second) == tree(source)
    assert os.access(second / "run.sh", os.X_OK)
    assert not os.access(second / "main.py", os.X_OK)


def test_a_copy_merges_into_an_existing_folder(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    dest = tmp_path / "w" / "src"
    dest.parent.mkdir()
    copier.materialize(digest, dest)
    (dest / "main.py").write_text("changed by the last attempt")
    (dest / "leftover.txt").write_text("x")
    copier.materialize(digest, dest)
    assert (dest / "main.py").read_text() == "print('hi')\n"
    assert (dest / "leftover.txt").exists()


def test_a_removed_cache_is_extracted_again(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    copier.materialize(digest, tmp_path / "a" / "src")
    shutil.rmtree(tmp_path / "cache")
    copier.materialize(digest, tmp_path / "b" / "src")
    assert tree(tmp_path / "b" / "src") == tree(source)


def test_an_unknown_snapshot_is_a_datastore_error(tmp_path, artifacts):
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    with pytest.raises(DatastoreError, match="not in datastore"):
        copier.materialize("0" * 64, tmp_path / "src")
