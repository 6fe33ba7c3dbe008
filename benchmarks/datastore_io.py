"""Datastore I/O and dataset registration.

Figures (each a median of ``--repeat`` rounds, in one run, against a floor measured in the same run):
- per cloud emulator (moto's S3 server and Azurite, started by ``scripts/emulators.sh`` when not given):
  upload and download of one 256 MiB file and of 2,000 files of 64 KiB through headrace's datastore
  layer (``Datastore.upload`` / ``download`` of ``FsspecDatastore``) versus the raw client (``s3fs`` /
  ``adlfs`` ``put_file`` / ``get_file``) on the same emulator: throughput ratio, goal >= 0.9;
- registering a FileDataset of ``--files`` files (default 100,000) on the local datastore: seconds
  (goal <= 5 s) against the floor of one ``os.scandir`` walk with a stat per file; the manifest's size;
- using that version (every file's version checked against the manifest) in seconds.

    .venv/bin/python benchmarks/datastore_io.py [--big-mib 256] [--small 2000] [--files 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def emulator_env() -> dict[str, str]:
    if os.environ.get("HEADRACE_TEST_S3_ENDPOINT") and os.environ.get("HEADRACE_TEST_AZURE_CONNECTION_STRING"):
        return dict(os.environ)
    subprocess.run(["bash", str(ROOT / "scripts/emulators.sh"), "start"], check=True)
    out = subprocess.run(["bash", str(ROOT / "scripts/emulators.sh"), "env"], check=True, capture_output=True,
                         text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


def raw_fs(kind: str, env: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    if kind == "s3":
        import s3fs

        options = {"endpoint_url": env["HEADRACE_TEST_S3_ENDPOINT"], "key": "testing", "secret": "testing"}
        return s3fs.S3FileSystem(**options), options
    import adlfs

    options = {"connection_string": env["HEADRACE_TEST_AZURE_CONNECTION_STRING"]}
    return adlfs.AzureBlobFileSystem(**options), options


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def io_round(kind: str, env: dict[str, str], big: Path, small: list[Path], work: Path) -> dict[str, float]:
    from headrace.datastores.fsspec_store import FsspecDatastore

    fs, options = raw_fs(kind, env)
    bucket = f"bench-{uuid.uuid4().hex[:10]}"
    fs.mkdir(bucket)
    proto = "s3" if kind == "s3" else "abfs"
    ds = FsspecDatastore(f"{kind}-bench", f"{proto}://{bucket}/hr", storage_options=options)
    out: dict[str, float] = {}
    out["raw_big_up"] = timed(lambda: fs.put_file(str(big), f"{bucket}/raw/big.bin"))
    out["hr_big_up"] = timed(lambda: ds.upload(str(big), "big.bin", overwrite=True))
    out["raw_big_down"] = timed(lambda: fs.get_file(f"{bucket}/raw/big.bin", str(work / "raw-big.bin")))
    out["hr_big_down"] = timed(lambda: ds.download("big.bin", str(work / "hr-big.bin")))

    def raw_small_up() -> None:
        for p in small:
            fs.put_file(str(p), f"{bucket}/raw/small/{p.name}")

    def hr_small_up() -> None:
        for p in small:
            ds.upload(str(p), f"small/{p.name}", overwrite=True)

    out["raw_small_up"] = timed(raw_small_up)
    out["hr_small_up"] = timed(hr_small_up)
    (work / "raw-small").mkdir(exist_ok=True)
    out["raw_small_down"] = timed(lambda: [fs.get_file(f"{bucket}/raw/small/{p.name}", str(work / "raw-small" / p.name))
                                           for p in small])
    out["hr_small_down"] = timed(lambda: ds.download("small", str(work / "hr-small")))
    fs.rm(bucket, recursive=True)
    return out


def registration(files: int, repeat: int) -> dict[str, float]:
    from headrace import Dataset, Workspace

    tmp = Path(tempfile.mkdtemp(prefix="headrace-ds-bench-"))
    try:
        ws = Workspace(tmp / "home")
        root = Path(ws.get_default_datastore().root_uri.removeprefix("file://")) / "many"
        for i in range(files):
            folder = root / f"{i // 1000:04d}"
            if i % 1000 == 0:
                folder.mkdir(parents=True)
            (folder / f"{i:07d}.bin").write_bytes(b"x")

        def floor() -> None:
            pending = [str(root)]
            while pending:
                with os.scandir(pending.pop()) as entries:
                    for e in entries:
                        pending.append(e.path) if e.is_dir() else e.stat()

        floors, regs, uses = [], [], []
        record: Any = None
        for _ in range(repeat):
            floors.append(timed(floor))
            t0 = time.perf_counter()
            record = Dataset.File.from_files((ws.get_default_datastore(), "many/**/*.bin"), validate=False) \
                .register(ws, "many", create_new_version=True)
            regs.append(time.perf_counter() - t0)
            uses.append(timed(lambda: Dataset.get_by_name(ws, "many").to_path()))
        manifest = ws._backend.svc.artifacts.read_bytes(record._record.manifest)
        staged, plain = _staging(ws, record, root, tmp, repeat)
        return {"floor": statistics.median(floors), "register": statistics.median(regs),
                "use": statistics.median(uses), "manifest_bytes": len(manifest), "stage": staged,
                "plain_get": plain}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _staging(ws: Any, record: Any, root: Path, tmp: Path, repeat: int) -> tuple[float, float]:
    """Staging the version as a step input (checked, copied) against a plain fsspec ``get`` of the folder."""
    import fsspec

    from headrace.engine import dataset_inputs
    from headrace.services import datasets as svc_datasets
    from headrace.services.datastores import get_datastore

    svc = ws._backend.svc
    info = svc_datasets.pin(svc, {"id": record.id})
    staged, plain = [], []
    for i in range(repeat):
        plain.append(timed(lambda i=i: fsspec.filesystem("file").get(f"{root}/", f"{tmp}/plain{i}/", recursive=True)))
        staged.append(timed(lambda i=i: dataset_inputs.stage("many", info, svc.artifacts,
                                                             lambda n: get_datastore(svc, n), tmp / f"work{i}", [])))
    return statistics.median(staged), statistics.median(plain)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-io", action="store_true", help="only the dataset registration figures")
    args = ap.parse_args()
    ok = True

    if not args.skip_io:
        env = emulator_env()
        work = Path(tempfile.mkdtemp(prefix="headrace-io-bench-"))
        try:
            big = work / "big.bin"
            with open(big, "wb") as f:
                for _ in range(args.big_mib):
                    f.write(os.urandom(1 << 20))
            small_dir = work / "small"
            small_dir.mkdir()
            small = []
            for i in range(args.small):
                p = small_dir / f"f{i:05d}.bin"
                p.write_bytes(os.urandom(64 << 10))
                small.append(p)
            for kind in ("s3", "abfs"):
                rounds = []
                warm = work / "warm"
                warm.mkdir()
                io_round(kind, env, big, small[:20], warm)  # connections and caches warm for both sides
                shutil.rmtree(warm)
                for _ in range(args.repeat):
                    scratch = work / f"scratch-{uuid.uuid4().hex[:6]}"
                    scratch.mkdir()
                    rounds.append(io_round(kind, env, big, small, scratch))
                    shutil.rmtree(scratch)
                med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
                print(f"== {kind} emulator ({args.repeat} rounds, medians)")
                for what, size in (("big", args.big_mib), ("small", args.small * 64 / 1024)):
                    for way in ("up", "down"):
                        raw, hr = med[f"raw_{what}_{way}"], med[f"hr_{what}_{way}"]
                        ratio = raw / hr  # throughput ratio: headrace / raw
                        verdict = "met" if ratio >= 0.9 else "MISSED"
                        label = f"1 x {args.big_mib} MiB" if what == "big" else f"{args.small} x 64 KiB"
                        print(f"  {label:>14} {way:>4}: raw {size / raw:7.1f} MiB/s, headrace {size / hr:7.1f} "
                              f"MiB/s, ratio {ratio:.2f} (goal >= 0.9: {verdict})")
                        ok &= ratio >= 0.9
        finally:
            shutil.rmtree(work, ignore_errors=True)

    reg = registration(args.files, args.repeat)
    print(f"== FileDataset of {args.files:,} files on the local datastore ({args.repeat} rounds, medians)")
    print(f"  floor (scandir + stat walk): {reg['floor']:.2f} s")
    verdict = "met" if reg["register"] <= 5 else "MISSED"
    print(f"  register: {reg['register']:.2f} s ({reg['register'] / reg['floor']:.1f}x the floor; goal <= 5 s: "
          f"{verdict}); manifest {reg['manifest_bytes'] / 1024:.0f} KiB "
          f"({reg['manifest_bytes'] / args.files:.1f} bytes per file)")
    print(f"  use a version (check every file, list paths): {reg['use']:.2f} s")
    ratio = reg["stage"] / reg["plain_get"]
    print(f"  stage it as a step input: {reg['stage']:.2f} s against a plain fsspec get {reg['plain_get']:.2f} s "
          f"({ratio:.2f}x; goal <= 2x: {'met' if ratio <= 2 else 'MISSED'})")
    ok &= reg["register"] <= 5 and ratio <= 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
