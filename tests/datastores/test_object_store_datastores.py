"""The conformance suite on real object-store protocols: moto's S3 server and Azurite.

``scripts/test.sh`` starts both on 127.0.0.1 (``scripts/emulators.sh``) and sets
``HEADRACE_TEST_S3_ENDPOINT`` (credentials default to ``testing``) and ``HEADRACE_TEST_AZURE_CONNECTION_STRING``.
Outside CI a test run without them skips these tests; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from datastore_conformance import DatastoreConformance

from headrace.datastores.fingerprint import fingerprint
from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.snapshots import fetch_snapshot, store_snapshot

S3_ENDPOINT = os.environ.get("HEADRACE_TEST_S3_ENDPOINT")
AZURE_CONNECTION = os.environ.get("HEADRACE_TEST_AZURE_CONNECTION_STRING")
# scripts/test.sh starts both emulators; in CI a missing one is a failure, never a skip.
_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STORES = [
    pytest.param("s3", marks=pytest.mark.skipif(not S3_ENDPOINT and not _CI,
                                                reason="HEADRACE_TEST_S3_ENDPOINT unset (scripts/emulators.sh)")),
    pytest.param("abfs", marks=pytest.mark.skipif(
        not AZURE_CONNECTION and not _CI, reason="HEADRACE_TEST_AZURE_CONNECTION_STRING unset (scripts/emulators.sh)")),
]


def make_store(protocol: str, prefix: str = "") -> FsspecDatastore:
    """A datastore in a new bucket or container."""
    if not (S3_ENDPOINT if protocol == "s3" else AZURE_CONNECTION):
        pytest.fail(f"no {protocol} emulator: run the tests through scripts/test.sh (it starts them)")
    if protocol == "s3":
        import s3fs

        options = {
            "endpoint_url": S3_ENDPOINT,
            "key": os.environ.get("HEADRACE_TEST_S3_KEY", "testing"),
            "secret": os.environ.get("HEADRACE_TEST_S3_SECRET", "testing"),
        }
        fs = s3fs.S3FileSystem(**options)
    else:
        import adlfs

        options = {"connection_string": AZURE_CONNECTION}
        fs = adlfs.AzureBlobFileSystem(**options)
    bucket = f"headrace-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    return FsspecDatastore(f"{protocol}-ds", f"{protocol}://{bucket}{prefix}", storage_options=options)


@pytest.fixture(params=STORES)
def object_store(request: pytest.FixtureRequest) -> FsspecDatastore:
    return make_store(request.param, "/prefix")


class TestObjectStoreDatastore(DatastoreConformance):
    __test__ = True
    files_block_children = False

    @pytest.fixture
    def ds(self, object_store: FsspecDatastore) -> FsspecDatastore:
        return object_store


def test_snapshots_and_fingerprints(object_store: FsspecDatastore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "step.py").write_text("print(1)\n")
    digest = store_snapshot(src, object_store)
    assert store_snapshot(src, object_store) == digest
    assert (fetch_snapshot(digest, object_store, tmp_path / "d", tmp_path / "c") / "step.py").exists()
    object_store.write_bytes("raw/big.csv", b"1234")
    before = fingerprint(object_store, "raw", small_file_bytes=0)
    assert before["files"]["big.csv"]["version"] == object_store.list("raw/big.csv")[0].etag
    object_store.write_bytes("raw/big.csv", b"1235")
    assert fingerprint(object_store, "raw", small_file_bytes=0)["digest"] != before["digest"]
