"""Local-disk helpers for datastores and snapshots: atomic writes, exact mtimes, sorted walks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

TMP_PREFIX = ".headrace-tmp-"
"""Name prefix of in-flight temp files; listings hide them."""


def datetime_from_ns(ns: int) -> datetime:
    """An exact (to the microsecond) UTC datetime; float seconds would lose precision."""
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC) + timedelta(
        microseconds=ns % 1_000_000_000 // 1000
    )


def atomic_local_write(write: Callable[[str], object], target: str) -> None:
    """Write ``target`` through ``write(tmp_path)``, then rename it into place.

    The new mtime is pushed at least one microsecond past the old file's, because
    ``FileInfo.version`` is derived from a microsecond-precision datetime and the kernel clock
    that stamps files is coarser than that.
    """
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}")
    try:
        write(tmp)
        try:
            old_us = os.stat(target).st_mtime_ns // 1000
        except FileNotFoundError:
            old_us = -1
        st = os.stat(tmp)
        if st.st_mtime_ns // 1000 <= old_us:
            os.utime(tmp, ns=(st.st_atime_ns, (old_us + 1) * 1000))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def local_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (following the walk, not directory symlinks), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found.extend(Path(dirpath, name) for name in filenames)
    return sorted(found)
