"""Model registration: what the content-addressed copy costs against a plain copy of the same files.

Figures (medians of ``--repeat`` rounds, in one run, on an embedded workspace in a temporary folder):
- ``Model.register`` of one ``--big-mib`` MiB file and of a folder of ``--small`` files of 16 KiB, against the
  floor of ``shutil.copyfile`` / ``copytree`` of the same files on the same disk: ratio (goal <= 2: the
  registry reads each file once more to hash it);
- registering the same content again (every blob already stored: only hashing, no copy);
- ``model.download`` against the same copy floor.

    .venv/bin/python benchmarks/models.py [--big-mib 256] [--small 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def timed(fn, *args):
    """(seconds, result) of ``fn(*args)``."""
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from headrace import Model, Workspace

    with tempfile.TemporaryDirectory(prefix="headrace-bench-models-") as tmp:
        root = Path(tmp)
        ws = Workspace(root / "home")
        big = root / "src" / "big.bin"
        big.parent.mkdir()
        with open(big, "wb") as f:
            for _ in range(args.big_mib):
                f.write(os.urandom(1 << 20))
        folder = root / "src" / "many"
        folder.mkdir()
        for i in range(args.small):
            (folder / f"f{i:05d}.bin").write_bytes(os.urandom(16 << 10))
        rows = []
        for label, source, copy in (
            (f"1 × {args.big_mib} MiB", big, shutil.copyfile),
            (f"{args.small} × 16 KiB", folder, shutil.copytree),
        ):
            floors, registers, agains, downloads = [], [], [], []
            for r in range(args.repeat):
                # New content every round, so each registration really copies (no blob stored yet).
                if source.is_file():
                    with open(source, "r+b") as f:
                        f.write(os.urandom(64))
                else:
                    (source / "f00000.bin").write_bytes(os.urandom(16 << 10))
                    for p in list(source.iterdir())[: args.small // 2]:
                        p.write_bytes(os.urandom(16 << 10))
                floors.append(timed(copy, source, root / f"copy-{label[:3]}-{r}")[0])
                seconds, made = timed(Model.register, ws, str(source), "bench")
                registers.append(seconds)
                agains.append(timed(Model.register, ws, str(source), "bench")[0])
                downloads.append(timed(made.download, str(root / f"dl-{label[:3]}-{r}"))[0])
            floor, reg = statistics.median(floors), statistics.median(registers)
            rows.append((label, floor, reg, statistics.median(agains), statistics.median(downloads)))
        print("| files | copy (floor) | register | ratio | register again (stored) | download | ratio |")
        print("|---|---|---|---|---|---|---|")
        for label, floor, reg, again, down in rows:
            print(f"| {label} | {floor:.3f} s | {reg:.3f} s | {reg / floor:.2f} | {again:.3f} s | {down:.3f} s "
                  f"| {down / floor:.2f} |")


if __name__ == "__main__":
    main()
