"""Fingerprints change when the data changes, and only then."""

from __future__ import annotations

import pytest

from headrace.datastores.fingerprint import fingerprint
from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.errors import DatastoreError


@pytest.fixture
def data(any_store: FsspecDatastore) -> FsspecDatastore:
    any_store.write_bytes("raw/a.csv", b"1,2\n")
    any_store.write_bytes("raw/sub/b.csv", b"3,4\n")
    any_store.write_bytes("rawish/c.csv", b"5,6\n")
    return any_store


def test_folder_fingerprint_lists_files_relative_to_path(data: FsspecDatastore) -> None:
    fp = fingerprint(data, "raw", small_file_bytes=1024)
    assert fp["kind"] == "folder" and fp["datastore"] == data.name and fp["path"] == "raw"
    assert sorted(fp["files"]) == ["a.csv", "sub/b.csv"]
    assert fp["files"]["a.csv"]["size"] == 4 and len(fp["files"]["a.csv"]["sha256"]) == 64
    assert isinstance(fp["digest"], str) and len(fp["digest"]) == 64


def test_file_fingerprint(data: FsspecDatastore) -> None:
    fp = fingerprint(data, "raw/a.csv", small_file_bytes=1024)
    assert fp["kind"] == "file" and list(fp["files"]) == ["a.csv"]


def test_unchanged_data_gives_the_same_digest(data: FsspecDatastore) -> None:
    for small in (1024, 0):
        assert fingerprint(data, "raw", small)["digest"] == fingerprint(data, "./raw/", small)["digest"]


def test_small_files_are_compared_by_content(data: FsspecDatastore) -> None:
    before = fingerprint(data, "raw", small_file_bytes=1024)
    data.write_bytes("raw/sub/b.csv", b"3,4\n")  # rewritten, same bytes
    assert fingerprint(data, "raw", small_file_bytes=1024)["digest"] == before["digest"]
    data.write_bytes("raw/sub/b.csv", b"9,9\n")  # same size, new bytes
    assert fingerprint(data, "raw", small_file_bytes=1024)["digest"] != before["digest"]


def test_big_files_are_compared_by_size_and_version(data: FsspecDatastore) -> None:
    before = fingerprint(data, "raw", small_file_bytes=0)
    assert before["files"]["a.csv"] == {"size": 4, "version": data.list("raw/a.csv")[0].version}
    data.write_bytes("raw/a.csv", b"7,8\n")
    assert fingerprint(data, "raw", small_file_bytes=0)["digest"] != before["digest"]


def test_added_and_removed_files_change_the_digest(data: FsspecDatastore) -> None:
    before = fingerprint(data, "raw", 1024)["digest"]
    data.write_bytes("raw/new.csv", b"")
    added = fingerprint(data, "raw", 1024)["digest"]
    data.delete("raw/new.csv")
    assert len({before, added}) == 2 and fingerprint(data, "raw", 1024)["digest"] == before


def test_other_paths_do_not_matter(data: FsspecDatastore) -> None:
    before = fingerprint(data, "raw", 1024)["digest"]
    data.write_bytes("rawish/c.csv", b"changed")
    assert fingerprint(data, "raw", 1024)["digest"] == before


def test_missing_path_names_datastore_and_path(data: FsspecDatastore) -> None:
    with pytest.raises(DatastoreError) as info:
        fingerprint(data, "raw/missing", 1024)
    assert repr(data.name) in str(info.value) and "'raw/missing'" in str(info.value)
    assert info.value.uri == data.uri("raw/missing")
    assert data.root_uri not in str(info.value)  # the message is for REST clients: no server paths


def test_a_local_folder_is_read_directly_with_the_listing_s_fingerprint(local_store: FsspecDatastore,
                                                                        monkeypatch) -> None:
    data = local_store
    for path, content in (("raw/a.csv", b"1,2\n"), ("raw/sub/b.csv", b"3,4\n"), ("raw/big.bin", b"x" * 64)):
        data.write_bytes(path, content)
    direct = [fingerprint(data, "raw", small) for small in (1024, 8)]
    monkeypatch.setattr(data, "local_path", lambda path="": None)  # force the generic listing path
    assert [fingerprint(data, "raw", small) for small in (1024, 8)] == direct
