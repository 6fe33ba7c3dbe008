"""A data transfer step's copy: its input's file or folder to its output's location, stream to stream.

Each file is read and written in chunks through the datastores' ``open`` (fsspec underneath), so no file is
held whole in memory and the copy works between any two stores (local folder, S3, Azure Blob). A cancel is
seen between chunks. What was copied goes to ``stdout.txt``; the execution log has the summary.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from headrace import clock
from headrace.core.dataset import decode_manifest, local_paths, single_file
from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.engine import dataset_inputs
from headrace.errors import DatasetError, HeadraceError
from headrace.storage.records import StepStatus

CHUNK_BYTES = 4 << 20
"""Bytes read and written at a time."""


class TransferCanceled(Exception):
    """The step was canceled while copying."""


def run(task: c.StepTask, resolve: Callable[[str], Datastore], log_dir: Path, log: list[str], started: datetime,
        canceled: Callable[[], bool], artifacts: Datastore) -> c.StepOutcome:
    """Copy ``task.transfer``'s source to its destination; never raises (a failure is the outcome).

    A dataset source is the files of its pinned version (read from its manifest in ``artifacts``)."""
    spec = task.transfer or {}
    log_dir.mkdir(parents=True, exist_ok=True)
    if spec.get("ignored_compute"):
        log.append(f"compute target {spec['ignored_compute']!r} (an Azure Data Factory) is not used: headrace copies "
                   "the data itself, on this compute target")
    lines: list[str] = []
    try:
        src, dst = task.inputs[spec["source"]], task.outputs[spec["destination"]]
        if src.dataset is not None:
            total, files = copy_dataset(src.dataset, artifacts, resolve, resolve(dst.datastore), dst.path,
                                        spec.get("destination_reference_type"), lines, canceled)
        else:
            total, files = copy(resolve(src.datastore), src.path, resolve(dst.datastore), dst.path,
                                spec.get("source_reference_type"), spec.get("destination_reference_type"), lines,
                                canceled)
    except TransferCanceled:
        status, error = StepStatus.CANCELED, "canceled"
    except (HeadraceError, OSError) as exc:
        status, error = StepStatus.FAILED, f"data transfer failed: {exc}"
        log.append(error)
    else:
        status, error = StepStatus.FINISHED, None
        log.append(f"copied {files} file(s), {total} bytes, from {src.datastore}/{src.path} to "
                   f"{dst.datastore}/{dst.path}")
    (log_dir / "stdout.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    (log_dir / "stderr.txt").write_text("" if error is None else error + "\n", encoding="utf-8")
    outcome = c.StepOutcome(status, started, clock.now(), 0 if status is StepStatus.FINISHED else None, error,
                            "" if error is None else error)
    if status is StepStatus.FINISHED:
        outcome.output_bytes[spec["destination"]] = total
    return outcome


def copy(source: Datastore, source_path: str, dest: Datastore, dest_path: str, source_type: str | None,
         dest_type: str | None, lines: list[str], canceled: Callable[[], bool] = lambda: False) -> tuple[int, int]:
    """Copy a file or folder between datastores with Azure ML's reference types; returns (bytes, files).

    A folder's files keep their relative paths under the destination folder; a file copied to a folder keeps
    its name there. An unset destination type is what exists there, else the source's type.

    Raises:
        DatastoreError: the source does not exist or a store fails; HeadraceError: a folder copied to a file.
        TransferCanceled: ``canceled()`` became true.
    """
    if source_type is None:
        if source.is_dir(source_path):
            source_type = "directory"
        elif source.exists(source_path):
            source_type = "file"
        else:
            raise HeadraceError(f"source {source.name}/{source_path} does not exist")
    elif source_type == "file" and source.is_dir(source_path):
        raise HeadraceError(f"source {source.name}/{source_path} is a folder, not a file; make "
                            "source_reference_type 'directory' (or leave it unset)")
    if dest_type is None:
        dest_type = ("directory" if dest.is_dir(dest_path) else "file") if dest.exists(dest_path) else source_type
    if source_type == "directory":
        if dest_type == "file":
            raise HeadraceError(f"cannot copy the folder {source.name}/{source_path} to a file "
                                f"({dest.name}/{dest_path}); make destination_reference_type 'directory'")
        base = source_path.strip("/")
        pairs = [(f.path, posixpath.join(dest_path, posixpath.relpath(f.path, base) if base else f.path))
                 for f in source.list(base)]
    else:
        target = posixpath.join(dest_path, posixpath.basename(source_path)) if dest_type == "directory" else dest_path
        pairs = [(source_path, target)]
    total = 0
    for src, dst in pairs:
        size = _copy_file(source, src, dest, dst, canceled)
        lines.append(f"{source.name}/{src} -> {dest.name}/{dst} ({size} bytes)")
        total += size
    return total, len(pairs)


def copy_dataset(info: dict, artifacts: Datastore, resolve: Callable[[str], Datastore], dest: Datastore,
                 dest_path: str, dest_type: str | None, lines: list[str],
                 canceled: Callable[[], bool] = lambda: False) -> tuple[int, int]:
    """Copy a pinned file dataset's files under ``dest_path`` (their paths relative to the dataset's folder), or
    its one file to ``dest_path`` when the destination is a file; returns (bytes, files).

    Raises:
        DatasetError: the version has no file, or a file changed since it was pinned.
    """
    entries = decode_manifest(artifacts.read_bytes(info["manifest"]))
    what = dataset_inputs.label(info)
    if not entries:
        raise DatasetError(f"dataset {what!r} matches no file")
    dataset_inputs.check_files(entries, resolve, what)
    rels = local_paths(info["definition"]["sources"], entries)
    if dest_type is None:
        dest_type = ("directory" if dest.is_dir(dest_path) else "file") if dest.exists(dest_path) else (
            "file" if single_file(info["definition"]["sources"], entries) else "directory")
    if dest_type == "file" and len(entries) != 1:
        raise HeadraceError(f"dataset {what!r} has {len(entries)} files; they cannot be copied to one file")
    total = 0
    for entry, rel in zip(entries, rels, strict=True):
        target = dest_path if dest_type == "file" else posixpath.join(dest_path, rel)
        size = _copy_file(resolve(entry.datastore), entry.path, dest, target, canceled)
        lines.append(f"{entry.datastore}/{entry.path} -> {dest.name}/{target} ({size} bytes)")
        total += size
    return total, len(entries)


def _copy_file(source: Datastore, src: str, dest: Datastore, dst: str, canceled: Callable[[], bool]) -> int:
    size = 0
    with source.open(src, "rb") as reader, dest.open(dst, "wb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            if canceled():
                raise TransferCanceled
            writer.write(chunk)
            size += len(chunk)
    return size
