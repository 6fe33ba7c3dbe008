"""The files of model versions: content-addressed blobs in the artifact store, and where a run's files are.

Every distinct content is stored once, at ``models/blobs/<sha256>``; a version lists the blobs it is made
of (``core.model.ModelFile``). A blob is written (atomically) before any version names it, and a content
already stored is not written again.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from headrace.core.model import ModelFile, blob_path, clean_relative
from headrace.datastores.base import Datastore
from headrace.engine.run_files import files_path
from headrace.errors import ModelError
from headrace.services.bundle import Services
from headrace.services.datastores import get_datastore
from headrace.storage.records import StepRunRecord

ARTIFACTS = "<artifacts>"
"""The "datastore" name of files found in the artifact store (kept run files)."""
_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The sha256 and size of a local file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def has_blob(svc: Services, sha256: str, size: int | None = None) -> bool:
    """Whether the blob is stored. Datastore writes are atomic (a local file is renamed into place, an object
    appears whole), so a stored blob is whole; ``size`` is accepted for callers that know it."""
    return svc.artifacts.exists(blob_path(sha256))


def put_local_blob(svc: Services, local: str | os.PathLike[str]) -> tuple[str, int]:
    """Store a local file as a blob (once per content); returns its sha256 and size. A small file is read once
    (hashed and written from memory), a large one hashed in chunks, then copied."""
    if os.path.getsize(local) <= _CHUNK:
        with open(local, "rb") as f:
            data = f.read()
        return put_blob_bytes(svc, data), len(data)
    sha, size = file_digest(local)
    if not has_blob(svc, sha):
        svc.artifacts.upload(str(local), blob_path(sha), overwrite=True)
    return sha, size


def put_blob_bytes(svc: Services, data: bytes, sha256: str | None = None) -> str:
    """Store bytes as a blob; with ``sha256``, the bytes must hash to it.

    Raises:
        ModelError: the content does not match ``sha256``.
    """
    actual = hashlib.sha256(data).hexdigest()
    if sha256 is not None and actual != sha256:
        raise ModelError(f"the uploaded content hashes to {actual}, not {sha256}: the upload was cut or altered")
    if not has_blob(svc, actual):
        svc.artifacts.write_bytes(blob_path(actual), data)
    return actual


def local_files(model_path: str | os.PathLike[str], child_paths: Iterable[str] | None = None) -> list[tuple[Path, str]]:
    """``(local file, path in the version)`` for a local file or folder; paths start with its base name.

    Raises:
        ModelError: the path does not exist, or a child path is not in the folder.
    """
    src = Path(model_path)
    if not src.exists():
        raise ModelError(f"model path {str(model_path)!r} does not exist (relative to {os.getcwd()})")
    root = src.resolve().name
    if src.is_file():
        return [(src, root)]
    if child_paths:
        picked = []
        for child in child_paths:
            rel = clean_relative(child)
            full = src / rel
            if not full.exists():
                raise ModelError(f"child path {child!r} is not in {str(model_path)!r}")
            picked += [(f, f"{root}/{rel}") for f in [full]] if full.is_file() else \
                [(f, f"{root}/{f.relative_to(src).as_posix()}") for f in sorted(full.rglob("*")) if f.is_file()]
        return picked
    return [(f, f"{root}/{f.relative_to(src).as_posix()}") for f in sorted(src.rglob("*")) if f.is_file()]


def store_local(svc: Services, pairs: list[tuple[Path, str]]) -> list[ModelFile]:
    return [ModelFile(rel, size, sha) for local, rel in pairs for sha, size in [put_local_blob(svc, local)]]


def store_from_datastore(svc: Services, ds: Datastore, pairs: list[tuple[str, str]]) -> list[ModelFile]:
    """Copy ``(datastore path, path in the version)`` pairs into blobs (through a temporary file each)."""
    files = []
    with tempfile.TemporaryDirectory(prefix="headrace-model-") as tmp:
        for source, rel in pairs:
            local = os.path.join(tmp, "blob")
            ds.download(source, local)
            sha, size = put_local_blob(svc, local)
            os.unlink(local)
            files.append(ModelFile(rel, size, sha))
    return files


def output_files(svc: Services, outputs: Mapping[str, Mapping[str, str]] | None) -> dict[str, tuple[str, str]]:
    """A step's outputs' files as ``{"<output name>/<path>": (datastore, path)}``."""
    found: dict[str, tuple[str, str]] = {}
    for output, location in (outputs or {}).items():
        ds = get_datastore(svc, location["datastore"])
        base = location["path"].rstrip("/")
        for info in ds.list(base, recursive=True):
            rel = info.path[len(base):].lstrip("/") if info.path != base else Path(base).name
            found[f"{output}/{rel}"] = (location["datastore"], info.path)
    return found


def kept_files(svc: Services, owner_id: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    """The run files kept for a run or step run (``./outputs``, ``./logs``, uploads) as
    ``{"<prefix><name>": (ARTIFACTS, artifact path)}``."""
    root = files_path(owner_id)
    if not svc.artifacts.exists(root):
        return {}
    return {prefix + info.path[len(root) + 1:]: (ARTIFACTS, info.path) for info in svc.artifacts.list(root)}


def run_files(svc: Services, run_id: str, steps: Sequence[StepRunRecord], *,
              step_scope: bool) -> dict[str, tuple[str, str]]:
    """The files a run (or, with ``step_scope``, its one step in ``steps``) produced: step outputs as
    ``<output name>/<path>``; kept run files (``./outputs``...) as ``outputs/<path>`` for the run itself, a step
    run, or the only step of a run, and as ``<step name>/outputs/<path>`` for a step of a run of several."""
    found = {} if step_scope else kept_files(svc, run_id)
    for step in steps:
        found.update(output_files(svc, step.outputs))
        found.update(kept_files(svc, step.id, "" if step_scope or len(steps) == 1 else f"{step.name}/"))
    return found


def open_source(svc: Services, datastore: str) -> Datastore:
    """The datastore a found file is in (``ARTIFACTS``: the artifact store)."""
    return svc.artifacts if datastore == ARTIFACTS else get_datastore(svc, datastore)


def pick(found: dict[str, tuple[str, str]], model_path: str, where: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The files ``model_path`` names among ``found`` (a file, or a folder's files), as
    ``(datastore, datastore path, path in the version)``, with the version's root.

    Raises:
        ModelError: nothing there; the message lists what the run has.
    """
    path = clean_relative(model_path)
    root = path.rsplit("/", 1)[-1]
    picked = []
    for key in sorted(found):
        if key == path:
            picked.append((*found[key], root))
        elif key.startswith(path + "/"):
            picked.append((*found[key], f"{root}/{key[len(path) + 1:]}"))
    if not picked:
        raise ModelError(f"model path {model_path!r} is not among the files of {where}; it has: "
                         f"{summary(found)}")
    return root, picked


def summary(found: dict[str, tuple[str, str]], limit: int = 20) -> str:
    """The run's files for an error message: every file up to ``limit``, then a count."""
    if not found:
        return ("no files (a model path is '<output name>/<path>' in a step output, or 'outputs/<path>' in the "
                "./outputs folder a script left)")
    keys = sorted(found)
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def download(svc: Services, root: str, files: Iterable[ModelFile], target_dir: str | os.PathLike[str],
             exist_ok: bool = False) -> str:
    """Recreate a version's files under ``target_dir``; returns the path of its root (file or folder).

    Raises:
        ModelError: a file is already there and ``exist_ok`` is False (nothing is written then).
    """
    target = Path(target_dir)
    plan = [(f, target.joinpath(*f.path.split("/"))) for f in files]
    if not exist_ok:
        there = [str(dest) for _, dest in plan if dest.exists()]
        if there:
            raise ModelError(f"file already exists: {there[0]}; pass exist_ok=True to replace it")
    for f, dest in plan:
        dest.parent.mkdir(parents=True, exist_ok=True)
        svc.artifacts.download(blob_path(f.sha256), str(dest))
    return str(target / root)


def read_blob(svc: Services, sha256: str) -> bytes:
    return svc.artifacts.read_bytes(blob_path(sha256))
