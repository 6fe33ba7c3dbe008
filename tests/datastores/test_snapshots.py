"""Source snapshots: hashing, ignore rules, size limit, deterministic archives, cached fetch."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import time
from pathlib import Path

import pytest

from headrace.datastores import snapshots
from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.ignore import is_ignored, parse_ignore, scan_source
from headrace.datastores.snapshots import fetch_snapshot, snapshot_hash, snapshot_key, store_snapshot
from headrace.errors import DatastoreError


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    (folder / "train.py").write_text("print('train')\n")
    (folder / "pkg" / "util.py").write_text("X = 1\n")
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# -- hashing ---------------------------------------------------------------------------------


def test_hash_is_stable_and_location_independent(src: Path, tmp_path: Path) -> None:
    first = snapshot_hash(src)
    assert len(first) == 64 and snapshot_hash(src) == first
    copy = tmp_path / "elsewhere"
    shutil.copytree(src, copy)
    os.utime(copy / "train.py", ns=(0, 12345))
    assert snapshot_hash(copy) == first


def test_hash_changes_on_same_size_edit_right_away(src: Path) -> None:
    before = snapshot_hash(src)
    (src / "pkg" / "util.py").write_text("X = 2\n")
    assert snapshot_hash(src) != before


def test_hash_changes_on_rename_add_and_exec_bit(src: Path) -> None:
    seen = {snapshot_hash(src)}
    (src / "train.py").rename(src / "main.py")
    seen.add(snapshot_hash(src))
    (src / "new.txt").write_text("")
    seen.add(snapshot_hash(src))
    (src / "main.py").chmod(0o755)
    seen.add(snapshot_hash(src))
    assert len(seen) == 4


def test_always_ignored_files_do_not_count(src: Path) -> None:
    before = snapshot_hash(src)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "train.cpython-311.pyc").write_bytes(b"\0")
    (src / "pkg" / "stale.pyc").write_bytes(b"\0")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_text("ref: x")
    assert snapshot_hash(src) == before


def test_the_workspace_home_in_the_source_folder_is_never_snapshotted(src: Path) -> None:
    # Azure ML's notebooks use source_directory="." where .headrace (database, token, work folders) lives.
    before = snapshot_hash(src)
    (src / ".headrace" / "work").mkdir(parents=True)
    (src / ".headrace" / "config.json").write_text('{"token": "secret"}')
    (src / ".headrace" / "work" / "busy.txt").write_text("changes while steps run")
    assert snapshot_hash(src) == before


@pytest.mark.parametrize("ignore_file", [".amlignore", ".headraceignore"])
def test_ignore_file_patterns(src: Path, ignore_file: str) -> None:
    (src / ignore_file).write_text(
        "# comment\n\ndata/\n*.log\n!keep.log\n/top.txt\npkg/*.tmp\n**/deep/*.bin\n"
    )
    for rel in [
        "data/big.csv",
        "a.log",
        "keep.log",
        "top.txt",
        "pkg/top.txt",
        "pkg/x.tmp",
        "x/deep/y.bin",
        "deep/z.bin",
    ]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    kept = [f.rel for f in scan_source(str(src), max_bytes=None)]
    assert kept == [ignore_file, "keep.log", "pkg/top.txt", "pkg/util.py", "train.py"]


def test_pattern_matching_rules() -> None:
    patterns = parse_ignore("build/\nlogs\n!logs/keep\n/anchored\n")
    assert is_ignored("build", True, patterns) and not is_ignored("build", False, patterns)
    assert is_ignored("a/logs", False, patterns) and is_ignored("logs", True, patterns)
    assert is_ignored("anchored", False, patterns) and not is_ignored("a/anchored", False, patterns)


def test_size_limit_names_the_folder_and_the_fix(src: Path) -> None:
    (src / "data.bin").write_bytes(b"\0" * 500)
    with pytest.raises(DatastoreError) as info:
        snapshot_hash(src, max_bytes=100)
    message = str(info.value)
    assert str(src) in message and ".headraceignore" in message and "data.bin (500 bytes)" in message
    (src / ".headraceignore").write_text("*.bin\n")
    assert snapshot_hash(src, max_bytes=100)


def test_default_limit_is_100_mib() -> None:
    assert snapshots.DEFAULT_MAX_SNAPSHOT_BYTES == 100 * 1024 * 1024


def test_missing_folder_is_datastore_error(tmp_path: Path) -> None:
    with pytest.raises(DatastoreError) as info:
        snapshot_hash(tmp_path / "nope")
    assert info.value.uri == (tmp_path / "nope").as_uri()


# -- store and fetch -------------------------------------------------------------------------


def test_store_writes_once_under_snapshots(src: Path, any_store: FsspecDatastore) -> None:
    digest = store_snapshot(src, any_store)
    assert digest == snapshot_hash(src)
    (info,) = any_store.list()
    assert info.path == snapshot_key(digest) == f"snapshots/{digest}.tar.gz"
    assert store_snapshot(src, any_store) == digest
    assert any_store.list()[0].version == info.version


def test_archive_is_deterministic(src: Path, tmp_path: Path, any_store: FsspecDatastore) -> None:
    digest = store_snapshot(src, any_store)
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    os.utime(copy / "train.py", ns=(0, 999_000_000_000))
    other = FsspecDatastore.local("other", tmp_path / "other")
    assert store_snapshot(copy, other) == digest
    assert other.read_bytes(snapshot_key(digest)) == any_store.read_bytes(snapshot_key(digest))
    with tarfile.open(fileobj=io.BytesIO(other.read_bytes(snapshot_key(digest)))) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["pkg/util.py", "train.py"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}


def test_fetch_roundtrip_skips_ignored_and_keeps_exec_bit(
    src: Path, tmp_path: Path, any_store: FsspecDatastore
) -> None:
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"\0")
    digest = store_snapshot(src, any_store)
    dest = fetch_snapshot(digest, any_store, tmp_path / "dest", cache_dir=tmp_path / "cache")
    assert dest == tmp_path / "dest"
    expected = {k: v for k, v in files_of(src).items() if not k.startswith("__pycache__")}
    assert files_of(dest) == expected
    assert os.access(dest / "run.sh", os.X_OK) and not os.access(dest / "train.py", os.X_OK)


def test_fetch_extracts_once_per_cache(
    src: Path, tmp_path: Path, any_store: FsspecDatastore, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = store_snapshot(src, any_store)
    extractions = []
    real = tarfile.TarFile.extractall
    monkeypatch.setattr(
        tarfile.TarFile, "extractall", lambda self, *a, **k: extractions.append(1) or real(self, *a, **k)
    )
    fetch_snapshot(digest, any_store, tmp_path / "d1", cache_dir=tmp_path / "cache")
    any_store.delete(snapshot_key(digest))  # later fetches must not need the datastore
    fetch_snapshot(digest, any_store, tmp_path / "d2", cache_dir=tmp_path / "cache")
    assert len(extractions) == 1
    assert files_of(tmp_path / "d2") == files_of(src)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [digest]


def test_fetch_merges_into_existing_dest(src: Path, tmp_path: Path, any_store: FsspecDatastore) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "outputs.txt").write_text("keep")
    fetch_snapshot(store_snapshot(src, any_store), any_store, dest, cache_dir=tmp_path / "cache")
    assert (dest / "outputs.txt").read_text() == "keep" and (dest / "train.py").exists()


def test_fetch_missing_or_malformed_hash(tmp_path: Path, any_store: FsspecDatastore) -> None:
    with pytest.raises(DatastoreError, match="not in datastore"):
        fetch_snapshot("0" * 64, any_store, tmp_path / "d", cache_dir=tmp_path / "c")
    with pytest.raises(DatastoreError, match="not a snapshot hash"):
        fetch_snapshot("../../etc", any_store, tmp_path / "d", cache_dir=tmp_path / "c")


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize(
    "payload", [b"not a tarball", _tar({"../evil.py": b"x"}), _tar({"other.py": b"wrong content"})]
)
def test_fetch_refuses_corrupt_or_unsafe_archives(
    tmp_path: Path, any_store: FsspecDatastore, payload: bytes
) -> None:
    digest = "a" * 64
    any_store.write_bytes(snapshot_key(digest), payload)
    with pytest.raises(DatastoreError):
        fetch_snapshot(digest, any_store, tmp_path / "d", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / digest).exists() and not (tmp_path / "evil.py").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_fifty_hashes_and_stores_of_a_one_file_folder_are_fast(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "step.py").write_text("print(1)\n")
    artifacts = FsspecDatastore.local("artifacts", tmp_path / "artifacts")
    store_snapshot(folder, artifacts)
    start = time.perf_counter()
    for _ in range(50):
        snapshot_hash(folder)
        store_snapshot(folder, artifacts)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.25, f"50 x (snapshot_hash + store_snapshot) took {elapsed * 1000:.1f} ms"
