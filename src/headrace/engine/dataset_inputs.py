"""Staging a dataset input: the exact files of its pinned version, checked, copied into the step's folder.

A dataset input's binding carries the pinned version (``DataBinding.dataset``: id, name, version, kind,
definition and the artifact path of its manifest). Staging reads the manifest from the artifact store,
checks every file's version against the datastore (one listing per datastore), and copies the files under
``inputs/<name>/`` relative to the dataset's base folder. It needs no shared filesystem: a remote worker
does the same with its own artifact store and datastore clients.

The step then finds them through ``Run.get_context().input_datasets[name]`` (a path for mount and
download, a dataset object reading those local files for direct mode), an environment variable named
after the input (Azure ML's), and ``datasets.json`` in its context folder.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headrace.core.dataset import ManifestEntry, decode_manifest, local_paths, single_file
from headrace.datastores.base import Datastore
from headrace.errors import DatasetError

DATASETS_FILE = "datasets.json"
"""In a step's context folder: ``{input name: {mode, path, id, name, version, kind, definition}}``."""


def label(info: dict[str, Any]) -> str:
    return f"{info['name']}:{info['version']}" if info.get("name") else str(info.get("id"))


def check_files(entries: list[ManifestEntry], resolve: Callable[[str], Datastore], what: str) -> None:
    """Raise DatasetError naming the first file whose version differs from the manifest's."""
    by_store: dict[str, list[ManifestEntry]] = {}
    for e in entries:
        by_store.setdefault(e.datastore, []).append(e)
    for store_name, files in by_store.items():
        store = resolve(store_name)
        if any(f.path.startswith(("http://", "https://")) for f in files):  # URLs: one HEAD each, no listing
            now = {f.path: v for f in files for v in store.versions(f.path).values()}
        else:
            folders = [f.path.rsplit("/", 1)[0] if "/" in f.path else "" for f in files]
            prefix = os.path.commonpath(folders) if all(folders) else ""
            now = store.versions(prefix, recursive=True)
        for f in files:
            current = now.get(f.path)
            if current != f.version:
                state = "vanished" if current is None else "changed"
                raise DatasetError(f"dataset {what!r}: file {store_name}:{f.path} {state} since this version was "
                                   "registered; register a new version to use the files as they are now")


def stage(name: str, info: dict[str, Any], artifacts: Datastore, resolve: Callable[[str], Datastore],
          workdir: Path, log: list[str]) -> tuple[str, str]:
    """Copy the version's files under ``workdir/inputs/<name>``; returns (the path the script gets, that
    folder): the path is the folder, or the file itself for a dataset of one file named without wildcards.

    Raises:
        DatasetError: the version has no file, or one changed or vanished since it was pinned.
    """
    entries = decode_manifest(artifacts.read_bytes(info["manifest"]))
    what = label(info)
    if not entries:
        raise DatasetError(f"dataset input {name!r} ({what}) matches no file")
    check_files(entries, resolve, what)
    sources = info["definition"]["sources"]
    single = single_file(sources, entries)
    folder = workdir / "inputs" / name
    total = 0
    stores: dict[str, Datastore] = {}
    made: set[str] = set()
    for e, rel in zip(entries, local_paths(sources, entries), strict=True):
        store = stores.get(e.datastore) or stores.setdefault(e.datastore, resolve(e.datastore))
        dest = folder.joinpath(*rel.split("/"))
        local = store.local_path(e.path)  # checked against the root's real path (no link leaves it)
        if local is None:
            total += store.download(e.path, str(dest))
            continue
        # A local file goes straight into the step's fresh folder: no temporary file, no rename.
        parent = str(dest.parent)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        try:
            shutil.copyfile(local, dest)
        except OSError as exc:
            raise DatasetError(f"dataset input {name!r}: cannot copy {e.datastore}:{e.path}: "
                               f"{exc.strerror or exc}") from exc
        total += e.size
    # A dataset of one file named without wildcards reaches the script as that file's path, as on Azure ML.
    where = str(dest) if single else str(folder)
    log.append(f"input {name}: dataset {what}, {len(entries)} file(s), {total} bytes staged at {where} "
               f"({info.get('mode', 'mount')})")
    return where, str(folder)


def bind(name: str, binding: Any, artifacts: Datastore, resolve: Callable[[str], Datastore], workdir: Path,
         log: list[str]) -> tuple[str, dict[str, Any]]:
    """Stage a dataset input; returns (what the script's argument and variable get, its ``datasets.json``
    entry). Direct mode gives the version's id, as on Azure ML; its files are staged all the same."""
    info = {**binding.dataset, "mode": binding.mode}
    where, folder = stage(name, info, artifacts, resolve, workdir, log)
    return (info["id"] if binding.mode == "direct" else where), {**info, "path": where, "folder": folder}


def write_context(workdir: Path, staged: dict[str, dict[str, Any]]) -> None:
    """What ``Run.get_context().input_datasets`` reads in the step."""
    if staged:
        (workdir / DATASETS_FILE).write_text(json.dumps(staged), encoding="utf-8")
