"""Content-named source folders that headrace generates for a step: a generated script beside copied user files.

Used by ``FlowStep``, ``ParallelRunStep`` and ``HyperDriveStep``. Each names its folder by a hash of what it holds, so an unchanged
source gives the same folder, the same snapshot and reuse. A folder is filled beside its final name and renamed
into place, so a process that loses the race to another one leaves the winner's (identical) folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from headrace.datastores.ignore import scan_source
from headrace.errors import DefinitionError, HeadraceError

__all__ = ["build_root", "ensure_build", "stage_beside"]


def build_root(given: str | os.PathLike[str] | None, kind: str) -> Path:
    """Where the builds of ``kind`` go: ``given``, else ``$HEADRACE_HOME/<kind>``, else a per-user temp folder."""
    if given is not None:
        return Path(given)
    home = os.environ.get("HEADRACE_HOME")
    if home:
        return Path(home) / kind
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"headrace-{kind}-{uid}"


def ensure_build(target: Path, script_name: str, script: str, entries: dict[str, str]) -> Path:
    """The folder ``target`` holding ``script`` as ``script_name`` and a copy of each ``entries`` file (relative
    path -> source path), built now unless it exists."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (tmp / script_name).write_text(script, encoding="utf-8")
        for rel, src in entries.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def stage_beside(step_name: str, source_directory: str, script_name: str, script: str, kind: str,
                 given_root: str | os.PathLike[str] | None = None) -> Path:
    """Copy ``source_directory`` (ignore files honoured) with ``script`` as ``script_name`` into its content-named
    folder under ``build_root(given_root, kind)``; returns the folder.

    Raises:
        DefinitionError: the folder cannot be read, or holds a file named ``script_name``.
    """
    try:
        files = scan_source(source_directory, None)
    except HeadraceError as exc:
        raise DefinitionError([f"step {step_name!r}: cannot read source_directory {source_directory!r}: {exc}"]) \
            from exc
    if any(f.rel == script_name for f in files):
        raise DefinitionError([f"step {step_name!r}: source_directory holds {script_name}, the name of "
                               "headrace's generated driver; rename that file"])
    digest = hashlib.sha256(script.encode())
    for f in files:
        with open(f.path, "rb") as src:
            digest.update(f"\0{f.rel}\0".encode() + hashlib.file_digest(src, "sha256").digest())
    target = build_root(given_root, kind) / digest.hexdigest()[:24]
    return ensure_build(target, script_name, script, {f.rel: f.path for f in files})
