"""Datasets: resolve a definition to its files, register versions with their manifest, use them exactly.

A version's manifest lives in the artifact store, content-addressed (``datasets/manifests/<sha256>.json.gz``),
so identical versions share it and a run can name it. Using a version lists each datastore once (the
common folder of its files) and compares every file's version (etag, or mtime and size) with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from headrace import clock
from headrace.core.dataset import (
    FILE,
    ManifestEntry,
    apply_file_transforms,
    decode_manifest,
    encode_manifest,
    glob_base,
    glob_regex,
    has_glob,
    local_paths,
)
from headrace.core.dataset_partitions import parse_partition_format
from headrace.engine.dataset_inputs import check_files
from headrace.errors import AlreadyExistsError, DatasetError, HeadraceError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.datastores import WEB_DATASTORE, get_datastore
from headrace.storage.dataset_records import DatasetRecord, DatasetUse

logger = logging.getLogger(__name__)

MANIFESTS = "datasets/manifests"


def resolve(svc: Services, definition: dict[str, Any]) -> list[ManifestEntry]:
    """The files a definition names now, in order (file transforms applied), without duplicates.

    A path without wildcards is a file, or every file under a folder. ``*``/``?`` stay in a folder,
    ``**`` spans folders.

    Raises:
        NotFoundError: an unknown datastore (naming the registered ones).
        DatasetError: an http(s) source (not supported: register its server as a datastore instead).
    """
    if definition.get("partition_format"):  # a bad one (sent over REST) fails before anything is read
        parse_partition_format(definition["partition_format"])
    seen: set[tuple[str, str]] = set()
    entries: list[ManifestEntry] = []
    for source in definition["sources"]:
        if "url" in source:
            for info in get_datastore(svc, WEB_DATASTORE).list(source["url"]):
                if (WEB_DATASTORE, info.path) not in seen:
                    seen.add((WEB_DATASTORE, info.path))
                    entries.append(ManifestEntry(WEB_DATASTORE, info.path, info.size, info.version))
            continue
        name, pattern = source["datastore"], source["path"]
        ds = get_datastore(svc, name)
        prefix = glob_base(pattern) if has_glob(pattern) else pattern
        found = ds.sized_versions(prefix, recursive=True)
        if has_glob(pattern):
            match = glob_regex(pattern).match
            found = [f for f in found if match(f[0])]
        for path, size, version in found:
            if (name, path) not in seen:
                seen.add((name, path))
                entries.append(ManifestEntry(name, path, size, version))
    if definition.get("kind", FILE) == FILE:
        entries = apply_file_transforms(entries, definition.get("transforms", ()))
    return entries


def save_manifest(svc: Services, entries: Sequence[ManifestEntry]) -> str:
    """Store a manifest (once per content); returns its artifact path."""
    data = encode_manifest(entries)
    path = f"{MANIFESTS}/{hashlib.sha256(data).hexdigest()}.json.gz"
    if not svc.artifacts.exists(path):
        svc.artifacts.write_bytes(path, data)
    return path


def load_manifest(svc: Services, record: DatasetRecord) -> list[ManifestEntry]:
    return decode_manifest(svc.artifacts.read_bytes(record.manifest))


def register(svc: Services, definition: dict[str, Any], *, name: str | None, description: str | None = None,
             tags: dict[str, str] | None = None, create_new_version: bool = False,
             created_by_run: str | None = None) -> DatasetRecord:
    """Register a version of ``name`` (or save an unnamed one with ``name=None``) with its manifest.

    With ``create_new_version``, a definition and manifest equal to the latest version's give that version
    back instead of a copy.

    Raises:
        AlreadyExistsError: ``name`` is registered and ``create_new_version`` is False.
        NotFoundError, DatasetError: see ``resolve``.
    """
    latest = _latest(svc, name) if name else None
    if latest is not None and not create_new_version:
        raise AlreadyExistsError("dataset", name, "specify create_new_version=True to register it as a new "
                                 "version (update, add_tags and remove_tags change only description and tags)")
    entries = resolve(svc, definition)
    if not entries:
        logger.warning("dataset %s: its paths match no file now; using it will fail until they do", name or "")
    manifest = save_manifest(svc, entries)
    if latest is not None and latest.definition == definition and latest.manifest == manifest:
        return latest
    record = DatasetRecord(id=uuid.uuid4().hex, name=name, version=None, kind=definition.get("kind", FILE),
                           definition=definition, manifest=manifest, file_count=len(entries),
                           total_bytes=sum(e.size for e in entries), description=description, tags=dict(tags or {}),
                           created_at=clock.now(), created_by_run=created_by_run)
    return svc.store.add_dataset(record)


def _latest(svc: Services, name: str) -> DatasetRecord | None:
    try:
        return svc.store.get_dataset_version(name)
    except NotFoundError:
        return None


def get_version(svc: Services, name: str, version: int | str | None = "latest") -> DatasetRecord:
    """``version`` ``"latest"``/None or a number.

    Raises:
        NotFoundError: no such name (the message lists the registered ones) or version (lists the versions).
    """
    number = None if version in (None, "latest") else _number(version)
    try:
        return svc.store.get_dataset_version(name, number)
    except NotFoundError:
        versions = [d.version for d in svc.store.list_datasets(name, all_versions=True)]
        if versions:
            raise NotFoundError("dataset", f"{name}:{version}",
                                f"versions of {name!r}: {', '.join(map(str, versions))}") from None
        known = ", ".join(d.name or "" for d in svc.store.list_datasets()) or "none"
        raise NotFoundError("dataset", name, f"registered datasets: {known}") from None


def _number(version: int | str) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise NotFoundError("dataset version", str(version), "give a version number or 'latest'") from None


def verified(svc: Services, record: DatasetRecord) -> list[ManifestEntry]:
    """The manifest's files, after checking each is still there with the same version.

    Raises:
        DatasetError: a file changed or vanished (naming it and the dataset), or the version has no file.
    """
    entries = load_manifest(svc, record)
    label = f"{record.name}:{record.version}" if record.name else record.id
    if not entries:
        raise DatasetError(f"dataset {label!r} matches no file: its paths named nothing when it was registered")
    check_versions(svc, entries, label)
    return entries


def check_versions(svc: Services, entries: Sequence[ManifestEntry], label: str) -> None:
    """Raises DatasetError naming the first file whose version differs from the manifest's."""
    check_files(list(entries), lambda name: get_datastore(svc, name), label)


def download(svc: Services, definition: dict[str, Any], entries: Sequence[ManifestEntry], target: str) -> list[str]:
    """Copy the files under ``target`` (relative to the sources' common base, as Azure ML does); returns the
    local paths, in manifest order."""
    local = []
    for e, rel in zip(entries, local_paths(definition["sources"], entries), strict=True):
        dest = os.path.join(target, *rel.split("/"))
        get_datastore(svc, e.datastore).download(e.path, dest)
        local.append(dest)
    return local


def record_use(svc: Services, dataset_id: str, run_id: str, step_name: str, role: str) -> None:
    svc.store.add_dataset_use(DatasetUse(dataset_id, run_id, step_name, role, clock.now()))




def pin(svc: Services, value: Any) -> dict[str, Any]:
    """The pinned form of a dataset value for a run: ``{id, name, version, kind, definition, manifest}``.

    ``value`` names a version by ``id``, by ``name`` (and ``version``, default the latest), or holds an
    unregistered ``definition``, which is saved as an unnamed version of the files it matches now (the
    same definition and files always give the same id, so repeated runs add no record).

    Raises:
        NotFoundError: no such id, name or version.
        DatasetError: an unregistered definition that matches no file.
    """
    if not isinstance(value, dict):
        raise DatasetError(f"not a dataset: {value!r}")
    if value.get("id"):
        record = svc.store.get_dataset(value["id"])
    elif value.get("name"):
        record = get_version(svc, value["name"], value.get("version") or "latest")
    elif value.get("definition"):
        record = _save_unnamed(svc, value["definition"])
    else:
        raise DatasetError(f"a dataset value needs an id, a name or a definition, not {value!r}")
    return {"id": record.id, "name": record.name, "version": record.version, "kind": record.kind,
            "definition": record.definition, "manifest": record.manifest}


def _save_unnamed(svc: Services, definition: dict[str, Any]) -> DatasetRecord:
    entries = resolve(svc, definition)
    if not entries:
        sources = ", ".join(s.get("url") or f"{s['datastore']}:{s['path']}" for s in definition["sources"])
        raise DatasetError(f"dataset ({sources}) matches no file")
    manifest = save_manifest(svc, entries)
    digest = hashlib.sha256(f"{json.dumps(definition, sort_keys=True)}|{manifest}".encode()).hexdigest()[:32]
    try:
        return svc.store.get_dataset(digest)
    except NotFoundError:
        pass
    record = DatasetRecord(id=digest, name=None, version=None, kind=definition.get("kind", FILE),
                           definition=definition, manifest=manifest, file_count=len(entries),
                           total_bytes=sum(e.size for e in entries), description=None, tags={}, created_at=clock.now())
    try:
        return svc.store.add_dataset(record)
    except AlreadyExistsError:  # a concurrent run saved it first
        return svc.store.get_dataset(digest)


def reference(value: Any) -> dict[str, Any]:
    """A REST dataset assignment (Azure ML's ``DataSetDefinitionValue``) as a dataset value.

    ``{"SavedDataSetReference": {"Id": ...}}`` or ``{"DataSetReference": {"Name": ..., "Version": ...}}``
    (keys in any case), or headrace's ``{"id": ...}`` / ``{"name": ..., "version": ...}``.

    Raises:
        DatasetError: another shape.
    """
    if isinstance(value, dict):
        low = {str(k).lower(): v for k, v in value.items()}
        saved, named = low.get("saveddatasetreference"), low.get("datasetreference")
        if isinstance(saved, dict):
            inner = {str(k).lower(): v for k, v in saved.items()}
            if inner.get("id"):
                return {"id": str(inner["id"])}
        if isinstance(named, dict):
            inner = {str(k).lower(): v for k, v in named.items()}
            if inner.get("name"):
                return {"name": str(inner["name"]), "version": inner.get("version")}
        if low.get("id") or low.get("name") or low.get("definition"):
            return {k: low[k] for k in ("id", "name", "version", "definition") if low.get(k) is not None}
    raise DatasetError('a dataset assignment is {"SavedDataSetReference": {"Id": "..."}} or '
                       f'{{"DataSetReference": {{"Name": "...", "Version": "..."}}}}, not {value!r}')


def record_run_uses(svc: Services, graph: dict[str, Any], run_id: str, parameters: dict[str, Any]) -> None:
    """Lineage: every step's dataset inputs, for the run just queued."""
    for step in graph["steps"]:
        for name in step["inputs"]:
            spec = graph["data"][name]
            if spec.get("kind") != "dataset":
                continue
            pinned = parameters.get(spec["parameter"]) if "parameter" in spec else spec.get("dataset")
            if isinstance(pinned, dict) and pinned.get("id"):
                record_use(svc, pinned["id"], run_id, step["name"], "input")


def register_run_outputs(svc: Services, run_id: str) -> list[DatasetRecord]:
    """At the end of a run: register each finished step's ``register_on_complete`` outputs as new dataset
    versions (lineage: produced by that run and step). A failed registration is logged, never raised: the
    run has ended either way."""
    try:
        run = svc.store.get_run(run_id)
        graph = svc.store.get_pipeline(run.pipeline_id).graph
    except HeadraceError:
        logger.exception("run %s: cannot read it to register its output datasets", run_id)
        return []
    wanted = {n: s for n, s in graph["data"].items() if s.get("kind") == "pipeline_data" and s.get("register")}
    made = []
    if not wanted:
        return made
    for step in svc.store.list_step_runs(run_id):
        if step.status.value != "Finished":
            continue
        for name, location in (step.outputs or {}).items():
            spec = wanted.get(name)
            if spec is None:
                continue
            reg = spec["register"]
            definition = {"kind": reg.get("kind", FILE),
                          "sources": [{"datastore": location["datastore"], "path": location["path"]}],
                          "transforms": [], **({"read": reg["read"]} if reg.get("read") else {})}
            try:
                record = register(svc, definition, name=reg["name"], description=reg.get("description"),
                                  tags=reg.get("tags"), create_new_version=True, created_by_run=run_id)
                record_use(svc, record.id, run_id, step.name, "output")
                made.append(record)
            except HeadraceError:
                logger.exception("run %s: cannot register output %s as dataset %s", run_id, name, reg["name"])
    return made
