"""Relative-path checking shared by every datastore implementation.

Limits, checked before anything touches a disk or a bucket (so an over-long or absurdly deep path
is refused with a clear error instead of an ``OSError`` naming server paths, a ``RecursionError``
or half-made folders):

- ``MAX_NAME_BYTES``: one path component, in UTF-8 bytes (the limit of ext4, xfs, NTFS, APFS);
- ``MAX_PATH_BYTES``: the whole relative path, in UTF-8 bytes (S3's and Azure Blob's key limit);
- ``MAX_PATH_DEPTH``: the number of components.
"""

from __future__ import annotations

import os
import re
import stat

from headrace.errors import DatastoreError, PathEscapeError

MAX_NAME_BYTES = 255
"""Longest file or folder name in a datastore path, in UTF-8 bytes."""

MAX_PATH_BYTES = 1024
"""Longest datastore-relative path, in UTF-8 bytes."""

MAX_PATH_DEPTH = 128
"""Most components (folders plus the file) in a datastore-relative path."""

_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def error_at(message: str, uri: str | None) -> DatastoreError:
    """A ``DatastoreError`` whose ``uri`` is kept as an attribute but left out of the message.

    Messages go to REST clients: they name the datastore and the path relative to it, never where
    the datastore lives on the server.
    """
    error = DatastoreError(message)
    error.uri = uri
    return error


def _shown(text: str) -> str:
    """The path as an error message shows it: long ones are cut, so the message stays readable."""
    return repr(text) if len(text) <= 120 else f"{text[:60]!r}...{text[-40:]!r} ({len(text)} characters)"


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
        DatastoreError: the path is over one of the limits of this module, or not valid Unicode.

    Example:
        >>> normalize_relpath("./raw//a/../b.csv", datastore="ds")
        'raw/b.csv'
    """
    text = os.fspath(path)

    def refuse(why: str, hint: str = "use a relative path with '/' separators, like 'folder/file.csv'",
               kind: type[DatastoreError] = PathEscapeError) -> DatastoreError:
        error = kind(f"path {_shown(text)} is not allowed in datastore {datastore!r}: {why}; {hint}")
        error.uri = root_uri
        return error

    def invalid(why: str, hint: str) -> DatastoreError:
        return refuse(why, hint, DatastoreError)

    if "\x00" in text:
        raise refuse("it contains a NUL character")
    if "\\" in text:
        raise refuse("it contains a backslash")
    if text.startswith("/") or _DRIVE.match(text):
        raise refuse("it is absolute")
    if _SCHEME.match(text):
        raise refuse("it is a URL")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise invalid("it is not valid Unicode (a lone surrogate)", "use names in UTF-8") from None
    if size > MAX_PATH_BYTES:
        raise invalid(f"it is {size} bytes long, over the limit of {MAX_PATH_BYTES}", "use a shorter path")
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise refuse("it leaves the datastore root")
            parts.pop()
            continue
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise invalid(f"the name {_shown(part)} is over {MAX_NAME_BYTES} bytes", "use shorter names")
        parts.append(part)
        if len(parts) > MAX_PATH_DEPTH:
            raise invalid(f"it is more than {MAX_PATH_DEPTH} folders deep", "use a flatter layout")
    return "/".join(parts)


def is_within(real: str, real_root: str) -> bool:
    """Whether the resolved path ``real`` is ``real_root`` or inside it (both from ``os.path.realpath``)."""
    if real == real_root:
        return True
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real.startswith(prefix)


def has_link_below(root: str, rel: str) -> bool:
    """Whether any existing component of ``rel`` under ``root`` is a symbolic link (``rel`` normalized).

    A few ``lstat`` calls: the common case (no link) needs no ``realpath`` of the whole path, which in
    Python walks every component from ``/``. Components from the first missing one on cannot be links.
    """
    path = root
    for part in rel.split("/"):
        path = f"{path}/{part}"
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError:  # cannot tell (permissions): let the full check decide
            return True
    return False
