"""DataTransferStep's copy (``engine.transfer.copy``: stream to stream through the datastores) against the raw
client's own file copy on the same emulator, in the same run.

Figures (medians of ``--repeat`` rounds after one warm-up): for S3 (moto) and Azure Blob (Azurite), one file of
``--mib`` MiB from a local datastore to the cloud and back, as MiB/s, against ``put_file`` / ``get_file`` of
``s3fs`` / ``adlfs`` (the floor); ratio = headrace's throughput / the floor's (goal >= 0.8: a streamed copy
reads and writes in 4 MiB chunks where the floor hands the client a local file). Then the Python memory peak of
one copy each way (``tracemalloc``), which must stay far below the file size.

    export HEADRACE_TEST_S3_ENDPOINT=... HEADRACE_TEST_AZURE_CONNECTION_STRING=...   # scripts/emulators.sh env
    .venv/bin/python benchmarks/data_transfer.py [--mib 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
import warnings
from pathlib import Path
from typing import Any

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.engine import transfer


def cloud(kind: str) -> tuple[Any, FsspecDatastore, str]:
    if kind == "s3":
        import s3fs

        options: dict[str, Any] = {"endpoint_url": os.environ["HEADRACE_TEST_S3_ENDPOINT"], "key": "testing",
                                   "secret": "testing"}
        fs = s3fs.S3FileSystem(**options)
    else:
        import adlfs

        options = {"connection_string": os.environ["HEADRACE_TEST_AZURE_CONNECTION_STRING"]}
        fs = adlfs.AzureBlobFileSystem(**options)
    bucket = f"hr-bench-{uuid.uuid4().hex[:10]}"
    fs.mkdir(bucket)
    protocol = "s3" if kind == "s3" else "abfs"
    return fs, FsspecDatastore(kind, f"{protocol}://{bucket}", storage_options=options), bucket


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(kind: str, local: FsspecDatastore, big: Path, root: Path, args: Any, peaks: list[tuple[str, int]]) -> None:
    """Print the two rows of ``kind`` (up, down); add its memory peaks to ``peaks``."""
    fs, store, bucket = cloud(kind)
    cases = {
        "up": (lambda: fs.put_file(str(big), f"{bucket}/raw/big.bin"),
               lambda: transfer.copy(local, "big.bin", store, "hr/big.bin", None, None, [])),
        "down": (lambda: fs.get_file(f"{bucket}/raw/big.bin", str(root / "raw-back.bin")),
                 lambda: transfer.copy(store, "hr/big.bin", local, "back.bin", None, None, [])),
    }
    for direction, (raw, ours) in cases.items():
        raw(), ours()  # warm-up (and the files the "down" cases read)
        floor = statistics.median(timed(raw) for _ in range(args.repeat))
        mine = statistics.median(timed(ours) for _ in range(args.repeat))
        print(f"| {kind}, 1 × {args.mib} MiB {direction} | {args.mib / floor:.1f} MiB/s | "
              f"{args.mib / mine:.1f} MiB/s | {floor / mine:.2f} |")
        tracemalloc.start()
        ours()
        peaks.append((f"{kind} {direction}", tracemalloc.get_traced_memory()[1]))
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ResourceWarning)  # adlfs's large-block warning (see tests/steps)
    root = Path(tempfile.mkdtemp(prefix="headrace-bench-transfer-"))
    local = FsspecDatastore.local("local", root / "local")
    big = root / "local" / "big.bin"
    with open(big, "wb") as f:
        for _ in range(args.mib):
            f.write(os.urandom(1 << 20))
    print("| case | raw client | headrace transfer | ratio |\n|---|---|---|---|")
    peaks: list[tuple[str, int]] = []
    for kind in ("s3", "azure"):
        measure(kind, local, big, root, args, peaks)
    print("\n| copy | Python memory peak | file |\n|---|---|---|")
    for case, peak in peaks:
        print(f"| {case} | {peak / (1 << 20):.1f} MiB | {args.mib} MiB |")


if __name__ == "__main__":
    main()
