"""Content-addressed snapshots of a step's source folder, kept in an artifact datastore.

A snapshot is named by ``snapshot_hash(folder)``: a sha256 over the sorted relative paths, the
executable bit and the bytes of every file that is not ignored. ``store_snapshot`` writes
``snapshots/<hash>.tar.gz`` once (a deterministic archive: sorted entries, mtime 0, uid/gid 0),
and ``fetch_snapshot`` extracts it through a local cache so each hash is extracted once per
machine.

Ignored always: ``__pycache__``, ``.git`` and ``*.pyc``. More patterns come from ``.amlignore``
and ``.headraceignore`` in the folder, one gitignore-style pattern a line (see ``ignore.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
import zlib
from pathlib import Path

from headrace.datastores.base import Datastore
from headrace.datastores.ignore import SourceFile, scan_source
from headrace.datastores.localfs import TMP_PREFIX
from headrace.errors import DatastoreError

DEFAULT_MAX_SNAPSHOT_BYTES = 100 * 1024 * 1024
"""Largest source folder (sum of file sizes after ignores) that may be snapshotted."""

SNAPSHOT_PREFIX = "snapshots"
"""Folder of the artifact datastore that holds ``<hash>.tar.gz`` archives."""

# A cached hash is trusted only for files whose mtime is older than this before the hash was
# taken: a file rewritten within one kernel clock tick keeps its mtime (git's "racy clean").
_RACY_WINDOW_NS = 20_000_000
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_cache_lock = threading.Lock()
_hash_cache: dict[str, tuple[tuple[object, ...], int, str]] = {}


def snapshot_key(snapshot_hash: str) -> str:
    """The archive's path in the artifact datastore, e.g. ``snapshots/<hash>.tar.gz``."""
    return f"{SNAPSHOT_PREFIX}/{snapshot_hash}.tar.gz"


def _combine(parts: list[tuple[SourceFile, str]]) -> str:
    outer = hashlib.sha256(b"headrace-snapshot-v1\n")
    for file, content_sha in parts:
        mode = "x" if file.executable else "-"
        outer.update(f"{len(file.rel.encode())}:{file.rel}\0{mode}\0{content_sha}\n".encode())
    return outer.hexdigest()


def _hash_files(files: list[SourceFile]) -> str:
    parts = []
    for file in files:
        with open(file.path, "rb") as fh:
            parts.append((file, hashlib.file_digest(fh, "sha256").hexdigest()))
    return _combine(parts)


def snapshot_hash(folder: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES) -> str:
    """The content hash of a source folder.

    Repeated calls in one process only re-stat the files: the result is cached by the folder and
    the (path, size, mtime_ns, inode) of each file.

    Args:
        folder: the source folder.
        max_bytes: refuse folders whose files (after ignores) add up to more than this.

    Returns:
        64 hex characters.

    Raises:
        DatastoreError: the folder is missing, unreadable or too large (the message says how to
            ignore files).
    """
    root = os.path.abspath(folder)
    started = time.time_ns()
    files = scan_source(root, max_bytes)
    stamp = tuple((f.rel, f.size, f.mtime_ns, f.ino, f.executable) for f in files)
    newest = max((f.mtime_ns for f in files), default=0)
    with _cache_lock:
        cached = _hash_cache.get(root)
    if cached and cached[0] == stamp and newest < cached[1] - _RACY_WINDOW_NS:
        return cached[2]
    try:
        digest = _hash_files(files)
    except OSError as exc:
        raise DatastoreError(f"cannot read the source folder: {exc}", uri=Path(root).as_uri()) from exc
    with _cache_lock:
        if len(_hash_cache) > 1024:
            _hash_cache.clear()
        _hash_cache[root] = (stamp, started, digest)
    return digest


def _build_archive(files: list[SourceFile], out: io.BufferedWriter) -> str:
    """Write a deterministic tar.gz of ``files`` and return the hash of exactly what was written."""
    parts = []
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for file in files:
                data = Path(file.path).read_bytes()
                info = tarfile.TarInfo(file.rel)
                info.size = len(data)
                info.mode = 0o755 if file.executable else 0o644
                info.mtime = info.uid = info.gid = 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
                parts.append((file, hashlib.sha256(data).hexdigest()))
    return _combine(parts)


def store_snapshot(
    folder: str | os.PathLike[str], artifacts: Datastore, max_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES
) -> str:
    """Save a source folder's snapshot in ``artifacts`` unless one with its hash is there.

    Args:
        folder: the source folder.
        artifacts: the datastore that keeps snapshots (local or remote).
        max_bytes: the size limit, as for ``snapshot_hash``.

    Returns:
        The snapshot hash.

    Raises:
        DatastoreError: the folder is unreadable or too large, changed while it was archived, or
            the datastore write failed.

    Example:
        >>> h = store_snapshot("steps/train", artifacts)  # doctest: +SKIP
        >>> fetch_snapshot(h, artifacts, "/tmp/run1/src", cache_dir="/tmp/cache")  # doctest: +SKIP
    """
    root = os.path.abspath(folder)
    digest = snapshot_hash(root, max_bytes)
    key = snapshot_key(digest)
    if artifacts.exists(key):
        return digest
    files = scan_source(root, max_bytes)
    with tempfile.TemporaryDirectory(prefix="headrace-snapshot-") as tmp:
        archive = os.path.join(tmp, "snapshot.tar.gz")
        try:
            with open(archive, "wb") as out:
                written = _build_archive(files, out)
        except OSError as exc:
            raise DatastoreError(f"cannot archive the source folder: {exc}", uri=Path(root).as_uri()) from exc
        if written != digest:
            with _cache_lock:
                _hash_cache.pop(root, None)
            raise DatastoreError(
                "the source folder changed while it was being snapshotted; try again",
                uri=Path(root).as_uri(),
            )
        # Concurrent writers of one hash write identical bytes, so replacing is harmless.
        artifacts.upload(archive, key, overwrite=True)
    return digest


def fetch_snapshot(
    snapshot_hash: str,
    artifacts: Datastore,
    dest_dir: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
) -> Path:
    """Copy the files of a stored snapshot into ``dest_dir``.

    The archive is downloaded and extracted once per ``cache_dir`` (into a temp folder that is
    renamed into place, so concurrent fetchers never see half a tree); each call then copies the
    cached tree into ``dest_dir``, merging with what is there.

    Args:
        snapshot_hash: a hash returned by ``store_snapshot``.
        artifacts: the datastore that keeps snapshots.
        dest_dir: where the files go; created when missing.
        cache_dir: a local folder for extracted snapshots, shared between calls.

    Returns:
        ``dest_dir`` as a ``Path``.

    Raises:
        DatastoreError: the hash is malformed, the snapshot is missing or corrupt, or copying
            failed.
    """
    if not _HASH_RE.match(snapshot_hash):
        raise DatastoreError(f"not a snapshot hash: {snapshot_hash!r} (expected 64 lowercase hex digits)")
    cached = Path(cache_dir) / snapshot_hash
    if not cached.is_dir():
        _fill_cache(snapshot_hash, artifacts, cached)
    dest = Path(dest_dir)
    try:
        # copyfile, not copy2: file modes come from the archive already; copystat per file is slow.
        shutil.copytree(cached, dest, dirs_exist_ok=True, copy_function=_copy_file)
    except (OSError, shutil.Error) as exc:
        raise DatastoreError(f"cannot copy snapshot {snapshot_hash}: {exc}", uri=dest.as_uri()) from exc
    return dest


def _fill_cache(snapshot_hash: str, artifacts: Datastore, cached: Path) -> None:
    key = snapshot_key(snapshot_hash)
    if not artifacts.exists(key):
        raise DatastoreError(
            f"snapshot {snapshot_hash} is not in datastore {artifacts.name!r}; store it with store_snapshot()",
            uri=artifacts.uri(key),
        )
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=TMP_PREFIX, dir=cached.parent) as tmp:
            archive = os.path.join(tmp, "snapshot.tar.gz")
            artifacts.download(key, archive)
            tree = os.path.join(tmp, "tree")
            os.mkdir(tree)
            with tarfile.open(archive, mode="r:gz") as tar:
                tar.extractall(tree, filter="data")
            if _hash_files(scan_source(tree, max_bytes=None)) != snapshot_hash:
                raise DatastoreError(
                    f"snapshot {snapshot_hash} is corrupt: its files do not match its hash; delete it "
                    "from the datastore and store the source folder again",
                    uri=artifacts.uri(key),
                )
            try:
                os.rename(tree, cached)
            except OSError:
                if not cached.is_dir():  # else another fetcher won the race with the same tree
                    raise
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise DatastoreError(
            f"cannot extract snapshot {snapshot_hash} into the cache {cached.parent}: {exc}",
            uri=artifacts.uri(key),
        ) from exc


def _copy_file(src: str, dst: str) -> str:
    shutil.copyfile(src, dst)
    mode = os.stat(src).st_mode & 0o777
    if mode & 0o111:  # keep executable bits (scripts run directly)
        os.chmod(dst, mode)
    return dst
