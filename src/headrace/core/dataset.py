"""Dataset definitions, glob matching and manifests: pure, no I/O.

A dataset *definition* is a JSON object::

    {"kind": "file" | "tabular",
     "sources": [{"datastore": "ds", "path": "raw/**/*.csv"}, ...],
     "read": {"format": "delimited", "separator": ",", "header": true, ...},   # tabular only
     "transforms": [{"op": "take", "count": 10}, {"op": "skip", "count": 2}, ...]}

A *manifest* is the exact list of files a definition resolved to when a version was registered:
``(datastore, path, size, version)`` per file, where ``version`` is the store's etag (or mtime and size).
Using a version reads exactly those files, or fails naming the file that changed or vanished.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from headrace.errors import DefinitionError

__all__ = ["FILE", "TABULAR", "ManifestEntry", "apply_file_transforms", "base_of", "dataset_json", "decode_manifest",
           "definition_hash", "encode_manifest", "glob_base", "glob_regex", "has_glob", "local_paths", "relative_path",
           "single_file", "source_list"]

FILE = "file"
TABULAR = "tabular"
_GLOB_CHARS = set("*?[")
_FILE_OPS = {"take", "skip", "split"}


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a dataset version."""

    datastore: str
    path: str
    size: int
    version: str


def has_glob(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def glob_base(pattern: str) -> str:
    """The folders before the first wildcard: what to list to match ``pattern``."""
    parts = pattern.strip("/").split("/")
    base = []
    for part in parts:
        if has_glob(part):
            break
        base.append(part)
    else:
        return "/".join(base)
    return "/".join(base)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a datastore glob: ``*`` and ``?`` stay within a folder, ``**`` spans folders, ``[ab]`` sets."""
    out = []
    text = pattern.strip("/")
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if text.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = text.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = text[i + 1:end].replace("\\", "\\\\")
                out.append(f"[{'^' + body[1:] if body.startswith('!') else body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def source_list(path: Any, datastore_name_of: Any) -> list[dict[str, str]]:
    """Normalise Azure ML's ``path`` argument: a ``(datastore, path)`` tuple, a ``DataPath``, a URL string,
    or a list of these, into ``[{"datastore": name, "path": pattern}]`` / ``[{"url": ...}]``.

    Raises:
        DefinitionError: an entry of another shape, or an empty list.
    """
    items = path if isinstance(path, list) else [path]
    sources: list[dict[str, str]] = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            store, pattern = item
            sources.append({"datastore": datastore_name_of(store), "path": str(pattern or "").strip("/")})
        elif hasattr(item, "datastore_name") and hasattr(item, "path_on_datastore"):
            sources.append({"datastore": item.datastore_name, "path": item.path_on_datastore.strip("/")})
        elif isinstance(item, str) and item.startswith(("http://", "https://")):
            sources.append({"url": item})
        elif isinstance(item, str) and item.startswith("azureml://"):
            raise DefinitionError([f"{item!r}: give (datastore, path) or a DataPath instead of an azureml:// URL"])
        else:
            raise DefinitionError([f"dataset path {item!r}: give a (datastore, 'path/or/glob') tuple, a DataPath, "
                                   "an http(s) URL, or a list of these"])
    if not sources:
        raise DefinitionError(["a dataset needs at least one path"])
    return sources


def base_of(sources: Sequence[dict[str, str]]) -> str:
    """The folder ``to_path`` and downloads are relative to: the common non-wildcard base of the sources."""
    bases = []
    for s in sources:
        if "url" in s:
            return ""
        pattern = s["path"]
        bases.append(glob_base(pattern) if has_glob(pattern) else pattern)
    if len(bases) == 1:
        return bases[0]
    common = []
    for parts in zip(*(b.split("/") for b in bases), strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common)


def relative_path(path: str, base: str, single_file: bool) -> str:
    """Where a file of the dataset lands under a download folder (Azure ML drops the common base; a file
    read from a URL keeps its file name)."""
    if path.startswith(("http://", "https://")):
        return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
    if single_file and path == base:
        return path.rsplit("/", 1)[-1]
    if base and path.startswith(base + "/"):
        return path[len(base) + 1:]
    return path


def single_file(sources: Sequence[dict[str, str]], entries: Sequence[ManifestEntry]) -> bool:
    """One file named exactly (a file path or a URL, no wildcard): it reaches a script as that file."""
    return len(sources) == 1 and len(entries) == 1 and ("url" in sources[0] or entries[0].path == sources[0].get("path"))


def local_paths(sources: Sequence[dict[str, str]], entries: Sequence[ManifestEntry]) -> list[str]:
    """Where each file lands under a download folder, relative to it (one rule for every copy)."""
    base, single = base_of(sources), single_file(sources, entries)
    return [relative_path(e.path, base, single) for e in entries]


def dataset_json(value: Any) -> dict[str, Any]:
    """The graph form of a dataset default: ``{"id", "name", "version", "definition"}`` (id None until pinned)."""
    return value._headrace_dataset()


def apply_file_transforms(entries: list[ManifestEntry], transforms: Iterable[dict[str, Any]]) -> list[ManifestEntry]:
    """``take``, ``skip`` and a side of ``split`` over the file list, in order."""
    out = list(entries)
    for t in transforms:
        op = t.get("op")
        if op == "take":
            out = out[: t["count"]]
        elif op == "skip":
            out = out[t["count"]:]
        elif op == "split":
            out = split_side(out, t["percentage"], t.get("seed"), t["side"])
        elif op in _FILE_OPS:
            continue
    return out


def split_side(items: list[Any], percentage: float, seed: int | None, side: int) -> list[Any]:
    """One side of a reproducible random split: each item goes left with probability ``percentage``."""
    rng = random.Random(seed if seed is not None else 0)
    picks = [rng.random() < percentage for _ in items]
    return [item for item, left in zip(items, picks, strict=True) if left == (side == 0)]


def definition_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()


def encode_manifest(entries: Sequence[ManifestEntry]) -> bytes:
    """Compact, deterministic bytes: gzip of JSON grouping files by datastore as ``[path, size, version]``."""
    grouped: dict[str, list[tuple[str, int, str]]] = {}
    for e in entries:
        grouped.setdefault(e.datastore, []).append((e.path, e.size, e.version))
    text = json.dumps({"format": 1, "files": grouped}, separators=(",", ":"), sort_keys=True)
    return gzip.compress(text.encode(), compresslevel=3, mtime=0)


def decode_manifest(data: bytes) -> list[ManifestEntry]:
    files = json.loads(gzip.decompress(data))["files"]
    return [ManifestEntry(ds, p, size, version) for ds in sorted(files) for p, size, version in files[ds]]
