"""Content hashes of local files, remembered while the files' stat says they did not change.

Fingerprinting a folder for the reuse key reads and hashes every small file in it; a ParallelRunStep over
10,000 files paid ~0.3 s for that on every submission. As git's index and DVC's state do, a file whose
device, inode, size, mtime and ctime are what they were when it was hashed keeps its hash. A file changed
within the same timestamp tick as its hashing would look unchanged ("racily clean" in git's words), so a
file modified in the last :data:`RACY_SECONDS` is hashed but not remembered.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict

RACY_SECONDS = 2.0
"""A file modified this recently (filesystem time) is not remembered: its next change could keep its stat."""

MAX_ENTRIES = 200_000
"""Remembered files at most (least recently used dropped first): ~40 MB at the bound."""

_Key = tuple[str, int, int, int, int, int]
_hashes: OrderedDict[_Key, str] = OrderedDict()
_lock = threading.Lock()


def sha256_of(path: str, st: os.stat_result) -> tuple[int, str]:
    """(size, sha256 hex) of the file at ``path`` whose stat is ``st``, from memory when it did not change.

    Raises:
        OSError: reading failed.
    """
    key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _lock:
        known = _hashes.get(key)
        if known is not None:
            _hashes.move_to_end(key)
            return st.st_size, known
    with open(path, "rb") as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    settled = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_SECONDS * 1e9
    if settled and len(content) == st.st_size:  # a file growing while read is not remembered either
        with _lock:
            _hashes[key] = digest
            if len(_hashes) > MAX_ENTRIES:
                _hashes.popitem(last=False)
    return len(content), digest


def forget() -> None:
    """Drop every remembered hash (tests; a process that wants to re-read everything)."""
    with _lock:
        _hashes.clear()
