"""Remembered content hashes: an unchanged file is not read again; any change, even one that puts the
mtime back, and any file changed too recently to trust its stat, is read."""

from __future__ import annotations

import builtins
import hashlib
import os
import time
from pathlib import Path

import pytest

from headrace.datastores import content_hashes
from headrace.datastores.content_hashes import sha256_of
from headrace.datastores.fingerprint import fingerprint
from headrace.datastores.fsspec_store import FsspecDatastore


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The paths content_hashes opens."""
    opened: list[str] = []

    def counting(path, *args, **kwargs):
        opened.append(str(path))
        return builtins.open(path, *args, **kwargs)

    content_hashes.forget()
    monkeypatch.setattr(content_hashes, "open", counting, raising=False)
    yield opened
    content_hashes.forget()


def _settled(path: Path, content: bytes) -> None:
    """Write ``content`` with an mtime well in the past (ctime is now: wait it out by moving the clock)."""
    path.write_bytes(content)
    old = time.time() - 3600
    os.utime(path, (old, old))


def _ten_seconds_later(monkeypatch) -> None:
    """content_hashes sees a clock 10 s ahead: files written now (ctime) count as settled."""
    later = time.time_ns() + 10**10
    monkeypatch.setattr(content_hashes.time, "time_ns", lambda: later)


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_an_unchanged_settled_file_is_read_once(tmp_path: Path, reads, monkeypatch) -> None:
    f = tmp_path / "a.txt"
    _settled(f, b"hello")
    _ten_seconds_later(monkeypatch)  # the ctime utime just set counts as 10 s old
    assert sha256_of(str(f), f.stat()) == (5, _sha(b"hello"))
    assert sha256_of(str(f), f.stat()) == (5, _sha(b"hello"))
    assert reads == [str(f)]


def test_new_bytes_with_the_old_size_and_mtime_are_seen(tmp_path: Path, reads, monkeypatch) -> None:
    f = tmp_path / "a.txt"
    _settled(f, b"hello")
    _ten_seconds_later(monkeypatch)
    first = f.stat()
    sha256_of(str(f), first)
    f.write_bytes(b"HELLO")
    os.utime(f, ns=(first.st_atime_ns, first.st_mtime_ns))  # size and mtime as before; ctime moved on
    assert sha256_of(str(f), f.stat()) == (5, _sha(b"HELLO"))
    assert len(reads) == 2


def test_a_file_changed_just_now_is_not_remembered(tmp_path: Path, reads) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"fresh")
    for _ in range(2):
        assert sha256_of(str(f), f.stat()) == (5, _sha(b"fresh"))
    assert len(reads) == 2  # its next change could keep its stat: read each time


def test_a_folder_fingerprint_follows_a_change_that_restores_the_mtime(local_store: FsspecDatastore, reads,
                                                                       monkeypatch) -> None:
    local_store.write_bytes("raw/a.csv", b"1,2\n")
    path = Path(local_store.local_path("raw/a.csv"))
    _settled(path, b"1,2\n")
    _ten_seconds_later(monkeypatch)
    before = fingerprint(local_store, "raw", 1024)
    assert fingerprint(local_store, "raw", 1024) == before and len(reads) == 1
    st = path.stat()
    path.write_bytes(b"9,9\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = fingerprint(local_store, "raw", 1024)
    assert after["digest"] != before["digest"] and after["files"]["a.csv"]["sha256"] == _sha(b"9,9\n")


@pytest.fixture
def lookups(monkeypatch) -> list[str]:
    """The files whose hash the folder fingerprint looked up one by one."""
    from headrace.datastores import fingerprint as fingerprint_module

    seen: list[str] = []

    def counting(path, st):
        seen.append(path)
        return sha256_of(path, st)

    monkeypatch.setattr(fingerprint_module, "sha256_of", counting)
    return seen


def _settled_folder(store: FsspecDatastore, monkeypatch) -> list[Path]:
    paths = []
    for name, content in (("raw/a.csv", b"1,2\n"), ("raw/sub/b.csv", b"3,4\n")):
        store.write_bytes(name, content)
        paths.append(Path(store.local_path(name)))
        _settled(paths[-1], content)
    _ten_seconds_later(monkeypatch)
    return paths


def test_a_folder_whose_files_kept_their_stat_is_not_looked_up_file_by_file(local_store: FsspecDatastore, reads,
                                                                            lookups, monkeypatch) -> None:
    _settled_folder(local_store, monkeypatch)
    first = fingerprint(local_store, "raw", 1024)
    assert len(lookups) == 2
    assert fingerprint(local_store, "raw", 1024) == first and len(lookups) == 2 and len(reads) == 2


def test_a_remembered_folder_follows_a_change_that_keeps_size_and_mtime(local_store: FsspecDatastore, reads,
                                                                        lookups, monkeypatch) -> None:
    a, _ = _settled_folder(local_store, monkeypatch)
    before = fingerprint(local_store, "raw", 1024)
    st = a.stat()
    a.write_bytes(b"9,9\n")
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the ctime tells
    after = fingerprint(local_store, "raw", 1024)
    assert after["files"]["a.csv"]["sha256"] == _sha(b"9,9\n") and after["digest"] != before["digest"]


def test_a_remembered_folder_follows_an_added_file(local_store: FsspecDatastore, reads, lookups, monkeypatch) -> None:
    _settled_folder(local_store, monkeypatch)
    before = fingerprint(local_store, "raw", 1024)
    local_store.write_bytes("raw/c.csv", b"5,6\n")
    after = fingerprint(local_store, "raw", 1024)
    assert sorted(after["files"]) == ["a.csv", "c.csv", "sub/b.csv"] and after["digest"] != before["digest"]


def test_a_folder_with_a_file_changed_just_now_is_not_remembered(local_store: FsspecDatastore, reads,
                                                                 lookups) -> None:
    local_store.write_bytes("raw/a.csv", b"1,2\n")
    for _ in range(2):
        fingerprint(local_store, "raw", 1024)
    assert len(lookups) == 2 and len(reads) == 2  # its next change could keep its stat: looked at each time
