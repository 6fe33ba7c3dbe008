"""Relative-path checking shared by every datastore implementation."""

from __future__ import annotations

import os
import re

from headrace.errors import PathEscapeError

_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def normalize_relpath(path: str | os.PathLike[str], *, datastore: str, root_uri: str | None = None) -> str:
    """Turn ``path`` into a clean ``/``-separated path relative to a datastore root.

    ``.`` parts and empty parts are dropped and ``a/../b`` becomes ``b``; ``""`` means the root.

    Args:
        path: a path relative to the datastore root.
        datastore: the datastore's name, for the error message.
        root_uri: the datastore's root, attached to the error (not shown in its message).

    Returns:
        The normalised path, without leading or trailing ``/``.

    Raises:
        PathEscapeError: the path is absolute, a URL, contains a backslash or NUL, or climbs
            above the root with ``..``.

    Example:
        >>> normalize_relpath("./raw//a/../b.csv", datastore="ds")
        'raw/b.csv'
    """
    text = os.fspath(path)

    def refuse(why: str, hint: str = "use a relative path with '/' separators, like 'folder/file.csv'"):
        error = PathEscapeError(f"path {text!r} is not allowed in datastore {datastore!r}: {why}; {hint}")
        error.uri = root_uri
        return error

    if "\x00" in text:
        raise refuse("it contains a NUL character")
    if "\\" in text:
        raise refuse("it contains a backslash")
    if text.startswith("/") or _DRIVE.match(text):
        raise refuse("it is absolute")
    if _SCHEME.match(text):
        raise refuse("it is a URL")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise refuse("it leaves the datastore root")
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def is_within(real: str, real_root: str) -> bool:
    """Whether the resolved path ``real`` is ``real_root`` or inside it (both from ``os.path.realpath``)."""
    if real == real_root:
        return True
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real.startswith(prefix)
