"""Staging a step run on local compute: its work folder, source copy, log folder and output folders.

Creating folders and files is most of what a step costs besides its own process (on the ext4
volume measured, one ``mkdir`` or file creation takes 0.04 to 0.4 ms depending on other disk
activity, a rename or opening an existing file 0.01 ms). So staging is done ahead where it can
be: while a step runs, the steps waiting only for it are staged (``stage_ahead``), and they start
from a ready folder. Log files are created in the work folder and renamed into the log folder
when the process starts, so a step that never runs leaves no log files behind; ``forget_run``
removes the empty folders it was given.

``SnapshotCopier`` copies a snapshot from the per-machine extraction cache (``fetch_snapshot``)
using a listing of the cached tree kept in memory: no directory scan, no ``copystat`` per folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from headrace.datastores.base import Datastore
from headrace.datastores.snapshots import fetch_snapshot
from headrace.engine import compute as c

LOG_NAMES = ("stdout.txt", "stderr.txt", "execution.log")


def make_dir(path: Path) -> bool:
    """Create ``path`` and missing parents; False when it existed already.

    One ``mkdir`` in the usual case, where only the last folder is new (``Path.mkdir(parents=True)``
    makes more calls).
    """
    try:
        os.mkdir(path)
        return True
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)
        return True
    except FileExistsError:
        return False


@dataclass
class StagedStep:
    """The folders of one staged step run.

    ``in_place`` maps each output written straight into a local datastore to its folder there.
    """

    run_id: str
    snapshot_hash: str
    workdir: Path
    log_dir: Path
    in_place: dict[str, Path] = field(default_factory=dict)

    @property
    def src(self) -> Path:
        return self.workdir / "src"

    def log_file(self, name: str) -> Path:
        """Open-ready log file ``name`` in the log folder: the pre-created empty file is moved there."""
        target = self.log_dir / name
        try:
            os.replace(self.workdir / name, target)
        except OSError:  # not pre-created (already used) or another filesystem: create it there
            open(target, "wb").close()
        return target


class StepStager:
    """Stages step runs under ``work_root``; thread-safe.

    Args:
        artifacts: the artifact datastore (snapshots; logs when it is local).
        resolve_datastore: returns the datastore registered under a name.
        work_root: the local scratch folder (work folders, snapshot cache).
    """

    def __init__(self, artifacts: Datastore, resolve_datastore: Callable[[str], Datastore], work_root: Path):
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.work_root = Path(work_root)
        self.snapshots = SnapshotCopier(artifacts, self.work_root / ".snapshots")
        self._ahead: dict[str, StagedStep] = {}  # by step run id
        self._lock = threading.Lock()

    def workdir(self, run_id: str, step_run_id: str) -> Path:
        return self.work_root / run_id / step_run_id

    def log_dir(self, run_id: str, step_run_id: str, log_path: str) -> Path:
        local = self.artifacts.local_path(log_path)
        return Path(local) if local else self.workdir(run_id, step_run_id) / "logs"

    def stage_ahead(self, step: c.UpcomingStep) -> None:
        """Stage a step run that may start soon. Best effort: errors surface when it really runs.

        Raises:
            HeadraceError, OSError: staging failed (the caller ignores it).
        """
        staged = self.stage(step.run_id, step.step_run_id, step.snapshot_hash, step.log_path, step.outputs)
        with self._lock:
            self._ahead[step.step_run_id] = staged

    def take(self, task: c.StepTask) -> StagedStep:
        """The staged folders of ``task``: staged ahead if they were (and still fit), else now.

        Raises:
            HeadraceError: the snapshot cannot be fetched.
            OSError: a folder cannot be created.
        """
        with self._lock:
            staged = self._ahead.pop(task.step_run_id, None)
        if staged is None or staged.snapshot_hash != task.snapshot_hash:
            return self.stage(task.run_id, task.step_run_id, task.snapshot_hash, task.log_path, task.outputs)
        for name, binding in task.outputs.items():
            if name not in staged.in_place:
                self._output_in_place(name, binding, staged)
        return staged

    def stage(self, run_id: str, step_run_id: str, snapshot_hash: str, log_path: str,
              outputs: dict[str, c.DataBinding]) -> StagedStep:
        """Create the work folder (with the source copy and empty log files), log folder and outputs."""
        workdir = self.workdir(run_id, step_run_id)
        staged = StagedStep(run_id, snapshot_hash, workdir, self.log_dir(run_id, step_run_id, log_path))
        if not make_dir(workdir):  # left by an interrupted attempt: what it logged is stale
            for name in (c.METRICS_FILE, c.TAGS_FILE):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(workdir / name)
        make_dir(staged.log_dir)
        for name in LOG_NAMES:
            open(workdir / name, "wb").close()
        self.snapshots.materialize(snapshot_hash, staged.src)
        for name, binding in outputs.items():
            self._output_in_place(name, binding, staged)
        return staged

    def _output_in_place(self, name: str, binding: c.DataBinding, staged: StagedStep) -> None:
        local = self.resolve_datastore(binding.datastore).local_path(binding.path)
        if not local:
            return
        # A local datastore: the step writes straight to the run-scoped path, no upload copy.
        out = Path(local)
        if not make_dir(out):  # left by an interrupted attempt of this step run
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
        staged.in_place[name] = out

    def forget_run(self, run_id: str) -> None:
        """Drop what was staged ahead for ``run_id`` and never ran; its empty folders go too."""
        with self._lock:
            unused = [s for s in self._ahead.values() if s.run_id == run_id]
            self._ahead = {k: s for k, s in self._ahead.items() if s.run_id != run_id}
        for staged in unused:
            for folder in [*staged.in_place.values(), *(p.parent for p in staged.in_place.values()), staged.log_dir]:
                with contextlib.suppress(OSError):  # not empty: something used it after all
                    os.rmdir(folder)


@dataclass(frozen=True)
class _Listing:
    folders: tuple[str, ...]  # relative, parents first
    files: tuple[tuple[str, int], ...]  # relative path, mode bits to set (0: leave the default)


class SnapshotCopier:
    """Puts the files of a stored snapshot into a folder, through a per-machine extraction cache.

    Args:
        artifacts: the datastore that keeps snapshots.
        cache_dir: the local folder of extracted snapshots (as for ``fetch_snapshot``).
    """

    def __init__(self, artifacts: Datastore, cache_dir: Path):
        self.artifacts = artifacts
        self.cache_dir = Path(cache_dir)
        self._listings: dict[str, _Listing] = {}
        self._lock = threading.Lock()

    def materialize(self, snapshot_hash: str, dest: Path) -> None:
        """Copy snapshot ``snapshot_hash`` into ``dest`` (created; merged with what is there).

        Raises:
            DatastoreError: as ``fetch_snapshot``: malformed hash, missing or corrupt snapshot.
        """
        with self._lock:
            listing = self._listings.get(snapshot_hash)
        if listing is not None:
            try:
                _copy(listing, self.cache_dir / snapshot_hash, dest)
                return
            except OSError:  # the cache was removed under us: extract it again below
                with self._lock:
                    self._listings.pop(snapshot_hash, None)
        fetch_snapshot(snapshot_hash, self.artifacts, dest, cache_dir=self.cache_dir)
        listing = _list(self.cache_dir / snapshot_hash)
        with self._lock:
            if len(self._listings) > 256:
                self._listings.clear()
            self._listings[snapshot_hash] = listing


def _list(root: Path) -> _Listing:
    folders: list[str] = []
    files: list[tuple[str, int]] = []
    for here, dirs, names in os.walk(root):
        rel = os.path.relpath(here, root)
        dirs.sort()
        for d in dirs:
            folders.append(os.path.normpath(os.path.join(rel, d)))
        for name in sorted(names):
            mode = os.stat(os.path.join(here, name)).st_mode & 0o777
            files.append((os.path.normpath(os.path.join(rel, name)), mode if mode & 0o111 else 0))
    return _Listing(tuple(folders), tuple(files))


def _copy(listing: _Listing, cached: Path, dest: Path) -> None:
    make_dir(dest)
    for folder in listing.folders:
        make_dir(dest / folder)
    for rel, mode in listing.files:
        target = dest / rel
        # As fetch_snapshot: copyfile, not copy2 (copystat per file is slow); executable bits kept.
        shutil.copyfile(cached / rel, target)
        if mode:
            os.chmod(target, mode)
