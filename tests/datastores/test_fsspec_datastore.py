"""``FsspecDatastore`` on ``file://`` and ``memory://``: the conformance suite plus backend details."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from datastore_conformance import DatastoreConformance

from headrace.datastores.fsspec_compat import normalize_entry
from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.localfs import TMP_PREFIX
from headrace.errors import DatastoreError


class TestLocalDatastore(DatastoreConformance):
    __test__ = True

    @pytest.fixture
    def ds(self, local_store: FsspecDatastore) -> FsspecDatastore:
        return local_store


class TestMemoryDatastore(DatastoreConformance):
    __test__ = True

    @pytest.fixture
    def ds(self, memory_store: FsspecDatastore) -> FsspecDatastore:
        return memory_store


def test_local_constructor_creates_the_folder_and_maps_paths(tmp_path: Path) -> None:
    ds = FsspecDatastore.local("d", tmp_path / "new" / "root")
    assert (tmp_path / "new" / "root").is_dir()
    assert ds.root_uri == (tmp_path / "new" / "root").as_uri()
    assert ds.local_path("a/b.txt") == str(tmp_path / "new" / "root" / "a" / "b.txt")
    assert ds.local_path() == str(tmp_path / "new" / "root")


def test_plain_path_and_file_url_mean_the_same_store(tmp_path: Path) -> None:
    assert FsspecDatastore("d", str(tmp_path)).root_uri == FsspecDatastore("d", tmp_path.as_uri()).root_uri


def test_memory_store_has_no_local_path(memory_store: FsspecDatastore) -> None:
    assert memory_store.local_path("x") is None
    assert memory_store.root_uri.startswith("memory://")


def test_unknown_protocol_is_datastore_error() -> None:
    with pytest.raises(DatastoreError) as info:
        FsspecDatastore("weird", "nosuchproto://bucket/x")
    assert info.value.uri == "nosuchproto://bucket/x"
    assert info.value.__cause__ is not None


def test_local_time_comes_from_mtime_ns(local_store: FsspecDatastore) -> None:
    local_store.write_bytes("f", b"x")
    path = local_store.local_path("f")
    os.utime(path, ns=(0, 1_700_000_000_123_456_789))
    (info,) = local_store.list("f")
    assert info.modified == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)


def test_a_local_file_has_the_same_exact_version_alone_and_in_its_folder(local_store: FsspecDatastore) -> None:
    # A dataset of one file is pinned by asking for that file, and checked by listing its folder.
    local_store.write_bytes("d/f", b"xyz")
    os.utime(local_store.local_path("d/f"), ns=(0, 1_700_000_000_123_456_789))
    assert local_store.versions("d/f") == local_store.versions("d") == {"d/f": "1700000000123456789-3"}
    assert local_store.sized_versions("d/f") == local_store.sized_versions("d") == [("d/f", 3, "1700000000123456789-3")]


def test_local_rewrites_move_mtime_forward_even_when_the_clock_does_not(local_store: FsspecDatastore) -> None:
    local_store.write_bytes("f", b"aaaa")
    future = 4_000_000_000_000_000_000  # year 2096: the rewrite's natural mtime is older
    os.utime(local_store.local_path("f"), ns=(future, future))
    local_store.write_bytes("f", b"bbbb")
    assert os.stat(local_store.local_path("f")).st_mtime_ns > future


def test_local_writes_leave_no_temp_files_and_listing_hides_them(local_store: FsspecDatastore) -> None:
    for i in range(3):
        local_store.write_bytes("d/f", str(i).encode())
    root = Path(local_store.local_path())
    (root / "d" / f"{TMP_PREFIX}inflight").write_bytes(b"half")
    assert [f.path for f in local_store.list()] == ["d/f"]
    assert sorted(p.name for p in (root / "d").iterdir()) == [f"{TMP_PREFIX}inflight", "f"]


def test_local_writes_are_atomic_for_readers(local_store: FsspecDatastore) -> None:
    big_a, big_b = b"a" * 2_000_000, b"b" * 2_000_000
    local_store.write_bytes("big", big_a)
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            local_store.write_bytes("big", big_b)
            local_store.write_bytes("big", big_a)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = {local_store.read_bytes("big") in (big_a, big_b) for _ in range(40)}
    finally:
        stop.set()
        thread.join()
    assert seen == {True}


def test_memory_versions_are_content_md5(memory_store: FsspecDatastore) -> None:
    memory_store.write_bytes("f", b"hello")
    assert memory_store.list("f")[0].etag == "5d41402abc4b2a76b9719d911017c592"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (  # s3fs
            {
                "name": "b/k",
                "Size": 3,
                "LastModified": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                "ETag": '"abc"',
            },
            (3, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "abc"),
        ),
        (  # adlfs
            {
                "name": "c/k",
                "size": 4,
                "last_modified": datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
                "etag": '"0x8DC"',
            },
            (4, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "0x8DC"),
        ),
        (  # local
            {"name": "/x/k", "size": 5, "mtime": 1704164645.0},
            (5, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None),
        ),
        (  # naive datetimes and ISO strings are UTC
            {"name": "k", "size": 1, "last_modified": "2024-01-02T03:04:05Z", "etag": '""'},
            (1, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None),
        ),
        (
            {"name": "k", "size": 1, "created": datetime(2024, 1, 2, 3, 4, 5)},
            (1, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), None),
        ),
    ],
)
def test_listing_keys_are_normalised(entry: dict, expected: tuple) -> None:
    info = normalize_entry(entry, "rel/k")
    assert (info.size, info.modified, info.etag) == expected
    assert info.path == "rel/k"
    assert info.version == (expected[2] or f"{int(expected[1].timestamp() * 1e9)}-{expected[0]}")
