"""Which files of a source folder go into a snapshot.

Ignore files (``.amlignore``, ``.headraceignore``) hold one gitignore-style pattern a line,
matched with ``fnmatch`` (case-sensitive):

- blank lines and lines starting with ``#`` are skipped;
- ``!pattern`` re-includes what an earlier pattern ignored (the last match wins, and nothing
  under an ignored folder can be re-included);
- a trailing ``/`` matches folders only;
- a pattern with a ``/`` at its start or middle matches the path relative to the folder
  (``/build``, ``data/*.csv``); one without matches a file or folder name at any depth
  (``*.log``, ``node_modules``); ``**/`` at the start matches at any depth.
"""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from headrace.errors import DatastoreError

ALWAYS_IGNORED = ("__pycache__", ".git", "*.pyc", ".headrace")
"""Patterns applied before those of the ignore files (``.headrace``: a workspace home in a source folder,
as with Azure ML's source_directory=".", holds the database and the token, never code)."""

IGNORE_FILES = (".amlignore", ".headraceignore")
"""Files whose patterns are applied, in this order, when present at the folder's top."""


@dataclass(frozen=True)
class SourceFile:
    """One file that belongs to a snapshot."""

    rel: str  # "/"-separated, relative to the folder
    path: str  # absolute
    size: int
    mtime_ns: int
    ino: int
    executable: bool


@dataclass(frozen=True)
class IgnorePattern:
    """One parsed ignore line."""

    glob: str
    negate: bool = False
    dir_only: bool = False
    anchored: bool = False

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        if self.anchored:
            return fnmatchcase(rel, self.glob)
        return fnmatchcase(rel.rsplit("/", 1)[-1], self.glob)


def parse_ignore(text: str) -> list[IgnorePattern]:
    """Parse the lines of an ignore file into patterns (see the module docstring)."""
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        line = line[1:] if negate else line
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if line.startswith("**/") and "/" not in line[3:]:
            globs, anchored = [line[3:]], False
        elif line.startswith("**/"):
            globs, anchored = [line[3:], f"*/{line[3:]}"], True
        else:
            globs, anchored = [line.lstrip("/")], "/" in line
        patterns.extend(IgnorePattern(g, negate, dir_only, anchored) for g in globs if g)
    return patterns


def is_ignored(rel: str, is_dir: bool, patterns: Sequence[IgnorePattern]) -> bool:
    """Whether ``rel`` is ignored: the last pattern that matches decides."""
    ignored = False
    for pattern in patterns:
        if pattern.negate == ignored and pattern.matches(rel, is_dir):
            ignored = not pattern.negate
    return ignored


def load_patterns(root: str, names: set[str] | None = None) -> tuple[IgnorePattern, ...]:
    """The always-ignored patterns followed by those of the folder's ignore files.

    Args:
        root: the source folder.
        names: the names at the folder's top, when already known (saves failed opens).
    """
    text = "\n".join(ALWAYS_IGNORED)
    for name in IGNORE_FILES:
        if names is not None and name not in names:
            continue
        try:
            with open(os.path.join(root, name), encoding="utf-8") as fh:
                text += "\n" + fh.read()
        except FileNotFoundError:
            continue
    return _parse_cached(text)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> tuple[IgnorePattern, ...]:
    return tuple(parse_ignore(text))


def scan_source(root: str, max_bytes: int | None) -> list[SourceFile]:
    """The files of ``root`` that are not ignored, sorted by relative path.

    Symlinks to files are followed; symlinks to folders and broken symlinks are skipped.

    Raises:
        DatastoreError: ``root`` is not a folder or cannot be read, or the files add up to more
            than ``max_bytes`` (the message names the biggest and how to ignore them).
    """
    files: list[SourceFile] = []
    try:
        with os.scandir(root) as entries:
            top = sorted(entries, key=lambda e: e.name)
        patterns = load_patterns(root, {e.name for e in top})
        _walk(root, "", top, patterns, files)
    except (NotADirectoryError, FileNotFoundError) as exc:
        raise DatastoreError("the source folder does not exist", uri=Path(root).as_uri()) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatastoreError(f"cannot read the source folder: {exc}", uri=Path(root).as_uri()) from exc
    files.sort(key=lambda f: f.rel)
    total = sum(f.size for f in files)
    if max_bytes is not None and total > max_bytes:
        biggest = sorted(files, key=lambda f: -f.size)[:5]
        listing = ", ".join(f"{f.rel} ({f.size} bytes)" for f in biggest)
        raise DatastoreError(
            f"the source folder {root} holds {total} bytes, over the snapshot limit of {max_bytes}; "
            f"biggest files: {listing}. Ignore what the step does not need by adding gitignore-style "
            f"patterns (like 'data/' or '*.csv') to {os.path.join(root, '.headraceignore')} "
            "(or .amlignore), or raise the limit",
            uri=Path(root).as_uri(),
        )
    return files


def _walk(
    root: str,
    rel_dir: str,
    found: list[os.DirEntry[str]],
    patterns: tuple[IgnorePattern, ...],
    out: list[SourceFile],
) -> None:
    for entry in found:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        if entry.is_dir(follow_symlinks=False):
            if not is_ignored(rel, True, patterns):
                with os.scandir(entry.path) as entries:
                    _walk(root, rel, sorted(entries, key=lambda e: e.name), patterns, out)
            continue
        try:
            st = entry.stat()
        except FileNotFoundError:  # a broken symlink, or a file deleted since listed
            continue
        if not stat.S_ISREG(st.st_mode) or is_ignored(rel, False, patterns):
            continue
        executable = bool(st.st_mode & stat.S_IXUSR)
        out.append(SourceFile(rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, executable))
