"""Copying a stored snapshot into a step's source folder, and telling whether a copy is untouched.

``fetch_snapshot`` extracts each snapshot once into a per-machine cache and copies the cached
tree with ``shutil.copytree``. ``SnapshotCopier`` does the first copy of a snapshot that way, then
keeps a listing of the cached tree in memory: later copies make only the folders and files the
tree needs (no directory scan, no ``copystat``), writing small files from memory.

Each copy returns the stamp of every file it wrote (inode, size, mtime, ctime). ``untouched``
checks a folder against them: a step's source folder that is still exactly as copied can serve
the next step of the same snapshot without being copied again. A file rewritten, even with its
old size and mtime put back, gets a new ctime; new or removed entries show in the listing.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from headrace.datastores.base import Datastore
from headrace.datastores.snapshots import fetch_snapshot

Stamps = dict[str, tuple[int, int, int, int]]  # relative path -> (inode, size, mtime_ns, ctime_ns)


def make_dir(path: Path) -> bool:
    """Create ``path`` and missing parents; False when it existed already.

    One ``mkdir`` in the usual case, where only the last folder is new (``Path.mkdir(parents=True)``
    makes more calls).
    """
    try:
        os.mkdir(path)
        return True
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
        return True
    except FileExistsError:
        return False


@dataclass(frozen=True)
class _Listing:
    folders: tuple[str, ...]  # relative, parents first
    # relative path, mode bits to set (0: leave the default), the bytes (None: copy from the cache)
    files: tuple[tuple[str, int, bytes | None], ...]
    names: dict[str, frozenset[str]]  # folder ("." for the top) -> the names it holds
    held: int  # bytes kept in memory


class SnapshotCopier:
    """Puts the files of a stored snapshot into a folder, through a per-machine extraction cache.

    Args:
        artifacts: the datastore that keeps snapshots.
        cache_dir: the local folder of extracted snapshots (as for ``fetch_snapshot``).
    """

    HELD_FILE_BYTES = 256 * 1024
    """Files up to this size are kept in memory."""
    HELD_TOTAL_BYTES = 32 * 1024 * 1024
    """At most this much is kept in memory over all snapshots; listings are dropped beyond it."""

    def __init__(self, artifacts: Datastore, cache_dir: Path):
        self.artifacts = artifacts
        self.cache_dir = Path(cache_dir)
        self._listings: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    def materialize(self, snapshot_hash: str, dest: Path) -> Stamps:
        """Copy snapshot ``snapshot_hash`` into ``dest`` (created; merged with what is there).

        Returns:
            The stamp of every file of the snapshot in ``dest``.

        Raises:
            DatastoreError: as ``fetch_snapshot``: malformed hash, missing or corrupt snapshot.
        """
        with self._lock:
            listing = self._listings.get(snapshot_hash)
        if listing is not None:
            try:
                return _copy(listing, self.cache_dir / snapshot_hash, dest)
            except OSError:  # the cache was removed under us: extract it again below
                with self._lock:
                    self._listings.pop(snapshot_hash, None)
        fetch_snapshot(snapshot_hash, self.artifacts, dest, cache_dir=self.cache_dir)
        listing = _list(self.cache_dir / snapshot_hash, self.HELD_FILE_BYTES)
        with self._lock:
            if sum(x.held for x in self._listings.values()) + listing.held > self.HELD_TOTAL_BYTES:
                self._listings.clear()
            self._listings[snapshot_hash] = listing
        return {rel: _stamp(os.stat(dest / rel)) for rel, _, _ in listing.files}

    def untouched(self, snapshot_hash: str, folder: Path, stamps: Stamps) -> bool:
        """Whether ``folder`` holds exactly the files of the snapshot, as stamped when copied."""
        with self._lock:
            listing = self._listings.get(snapshot_hash)
        if listing is None or len(stamps) != len(listing.files):
            return False
        try:
            for rel, names in listing.names.items():
                if {entry.name for entry in os.scandir(folder / rel)} != names:
                    return False
            return all(_stamp(os.stat(folder / rel, follow_symlinks=False)) == stamp
                       for rel, stamp in stamps.items())
        except OSError:
            return False


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _list(root: Path, held_file_bytes: int) -> _Listing:
    folders: list[str] = []
    files: list[tuple[str, int, bytes | None]] = []
    names: dict[str, frozenset[str]] = {}
    held = 0
    for here, dirs, filenames in os.walk(root):
        rel = os.path.relpath(here, root)
        dirs.sort()
        names[rel] = frozenset([*dirs, *filenames])
        for d in dirs:
            folders.append(os.path.normpath(os.path.join(rel, d)))
        for name in sorted(filenames):
            path = os.path.join(here, name)
            st = os.stat(path)
            mode = st.st_mode & 0o777
            data = None
            if st.st_size <= held_file_bytes:
                with open(path, "rb") as f:
                    data = f.read()
                held += len(data)
            files.append((os.path.normpath(os.path.join(rel, name)), mode if mode & 0o111 else 0, data))
    return _Listing(tuple(folders), tuple(files), names, held)


def _copy(listing: _Listing, cached: Path, dest: Path) -> Stamps:
    make_dir(dest)
    for folder in listing.folders:
        make_dir(dest / folder)
    stamps: Stamps = {}
    for rel, mode, data in listing.files:
        target = dest / rel
        if data is None:
            # As fetch_snapshot: copyfile, not copy2 (copystat per file is slow).
            shutil.copyfile(cached / rel, target)
            if mode:  # executable bits kept (scripts run directly)
                os.chmod(target, mode)
            stamps[rel] = _stamp(os.stat(target))
            continue
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if mode:
                os.fchmod(fd, mode)
            stamps[rel] = _stamp(os.fstat(fd))
        finally:
            os.close(fd)
    return stamps
