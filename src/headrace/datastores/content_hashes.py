"""Content hashes of local files, remembered while the files' stat says they did not change.

Fingerprinting a folder for the reuse key reads and hashes every small file in it; a ParallelRunStep over
10,000 files paid ~0.3 s for that on every submission. As git's index and DVC's state do, a file whose
device, inode, size, mtime and ctime are what they were when it was hashed keeps its hash. A file changed
within the same timestamp tick as its hashing would look unchanged ("racily clean" in git's words), so a
file modified in the last :data:`RACY_SECONDS` is hashed but not remembered.

A whole folder's fingerprint is remembered the same way (:func:`known_folder`): given back while the stat of
every file in it is what it was when all of them were hashed and settled, so an unchanged 10,000-file folder
costs its walk and one list comparison instead of 10,000 look-ups and the digest's JSON.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

RACY_SECONDS = 2.0
"""A file modified this recently (filesystem time) is not remembered: its next change could keep its stat."""

MAX_ENTRIES = 200_000
"""Remembered files at most (least recently used dropped first): ~40 MB at the bound."""

MAX_FOLDER_FILES = 100_000
"""Files in remembered folder fingerprints at most, all folders together (least recently used dropped first)."""

_Key = tuple[str, int, int, int, int, int]
_hashes: OrderedDict[_Key, str] = OrderedDict()
_folders: OrderedDict[Hashable, tuple[list[_Key], Any]] = OrderedDict()
_lock = threading.Lock()


def stat_key(name: str, st: os.stat_result) -> _Key:
    """What must stay equal for a file to count as unchanged: device, inode, size, mtime and ctime."""
    return (name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def settled(st: os.stat_result, now_ns: int | None = None) -> bool:
    """Whether the file was last changed more than :data:`RACY_SECONDS` ago (its next change will show in its stat)."""
    return (time.time_ns() if now_ns is None else now_ns) - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_SECONDS * 1e9


def sha256_of(path: str, st: os.stat_result) -> tuple[int, str]:
    """(size, sha256 hex) of the file at ``path`` whose stat is ``st``, from memory when it did not change.

    Raises:
        OSError: reading failed.
    """
    key = stat_key(path, st)
    with _lock:
        known = _hashes.get(key)
        if known is not None:
            _hashes.move_to_end(key)
            return st.st_size, known
    with open(path, "rb") as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    if settled(st) and len(content) == st.st_size:  # a file growing while read is not remembered either
        with _lock:
            _hashes[key] = digest
            if len(_hashes) > MAX_ENTRIES:
                _hashes.popitem(last=False)
    return len(content), digest


def known_folder(key: Hashable, stats: list[_Key]) -> Any | None:
    """What :func:`remember_folder` kept for ``key`` when its files' :func:`stat_key` list was ``stats``, else None."""
    with _lock:
        known = _folders.get(key)
        if known is None or known[0] != stats:
            return None
        _folders.move_to_end(key)
        return known[1]


def remember_folder(key: Hashable, stats: list[_Key], result: Any) -> None:
    """Keep ``result`` (computed from the files whose stat keys are ``stats``, each settled when read) for ``key``."""
    if len(stats) > MAX_FOLDER_FILES:
        return
    with _lock:
        _folders.pop(key, None)
        _folders[key] = (stats, result)
        total = sum(len(known[0]) for known in _folders.values())
        while total > MAX_FOLDER_FILES:
            total -= len(_folders.popitem(last=False)[1][0])


def forget() -> None:
    """Drop every remembered hash and folder (tests; a process that wants to re-read everything)."""
    with _lock:
        _hashes.clear()
        _folders.clear()
