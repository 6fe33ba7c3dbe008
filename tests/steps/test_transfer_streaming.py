"""The transfer copy streams: copying a file many times larger than a chunk never holds it whole in memory,
to and from the S3 emulator and Azurite."""

from __future__ import annotations

import os
import tracemalloc
import uuid

import pytest

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.engine import transfer

SIZE = 96 << 20


def _cloud(kind: str) -> FsspecDatastore:
    endpoint, conn = os.environ.get("HEADRACE_TEST_S3_ENDPOINT"), os.environ.get("HEADRACE_TEST_AZURE_CONNECTION_STRING")
    if not (endpoint if kind == "s3" else conn):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"no {kind} emulator: run the tests through scripts/test.sh")
        pytest.skip(f"no {kind} emulator (scripts/emulators.sh)")
    if kind == "s3":
        import s3fs

        options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
        fs = s3fs.S3FileSystem(**options)
    else:
        import adlfs

        options = {"connection_string": conn}
        fs = adlfs.AzureBlobFileSystem(**options)
    bucket = f"headrace-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    protocol = "s3" if kind == "s3" else "abfs"
    return FsspecDatastore(f"{kind}-ds", f"{protocol}://{bucket}", storage_options=options)


# adlfs sends each block of a large blob as raw bytes, which aiohttp warns about (any Azure upload over 1 MiB
# does, ``put_file`` included); the warning is not what this test is about.
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
@pytest.mark.parametrize("kind", ["s3", "azure"])
def test_a_large_file_is_copied_in_chunks(tmp_path, kind, monkeypatch):
    monkeypatch.setattr(transfer, "CHUNK_BYTES", 1 << 20)
    local = FsspecDatastore.local("local", tmp_path / "local")
    block = os.urandom(1 << 20)
    with open(tmp_path / "local" / "big.bin", "wb") as f:
        for _ in range(SIZE >> 20):
            f.write(block)
    cloud = _cloud(kind)
    tracemalloc.start()
    try:
        lines: list[str] = []
        assert transfer.copy(local, "big.bin", cloud, "in/big.bin", None, None, lines) == (SIZE, 1)
        assert transfer.copy(cloud, "in", local, "back", None, None, lines) == (SIZE, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SIZE // 2, f"peak {peak} bytes: the file was held whole"
    assert (tmp_path / "local" / "back" / "big.bin").read_bytes() == (tmp_path / "local" / "big.bin").read_bytes()
