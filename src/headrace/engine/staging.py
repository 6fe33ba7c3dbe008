"""Staging a step run on local compute: its work folder, source copy, log folder and output folders.

Creating folders and files is most of what a step costs the agent besides starting its process
(on the ext4 volume measured, one ``mkdir`` or file creation takes 0.04 to 0.4 ms depending on
other disk activity, a rename or opening an existing file about 0.01 ms). Three things keep it
off the critical path or avoid it:

- Staging ahead: while a step runs, the steps waiting only for it are staged (``stage_ahead``)
  and start from a ready folder. Their log files are created in the work folder and renamed
  into the log folder when the process starts, so a step that never runs leaves no log files;
  ``forget_run`` removes the empty folders it was given.
- Reusing work folders within a run: when a step ended, no process of it is left and its
  source folder is exactly as copied (``SnapshotCopier.untouched``), the next step of the same
  snapshot takes the folder over with one rename instead of two new folders and a copy.
- Cheap copies: see ``snapshot_copy``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.engine.run_files import remove_context
from headrace.engine.snapshot_copy import SnapshotCopier, Stamps, make_dir

__all__ = ["StagedStep", "StepStager", "make_dir"]


@dataclass
class StagedStep:
    """The folders of one staged step run.

    ``in_place`` maps each output written straight into a local datastore to its folder there;
    ``stamps`` are those of the source copy (see ``SnapshotCopier``).
    """

    run_id: str
    snapshot_hash: str
    workdir: Path
    log_dir: Path
    ahead: bool  # staged while another step ran: its log files wait, empty, in the work folder
    in_place: dict[str, Path] = field(default_factory=dict)
    stamps: Stamps = field(default_factory=dict)
    reused: bool = False  # the work folder of an earlier step, taken over
    process_group: int | None = None  # of the step's process, once started

    @property
    def src(self) -> Path:
        return self.workdir / "src"

    def log_file(self, name: str) -> Path:
        """The path of log file ``name``; a file created ahead is moved into the log folder first."""
        target = self.log_dir / name
        if self.ahead:
            with contextlib.suppress(OSError):  # already used, or another filesystem: created by the opener
                os.replace(self.workdir / name, target)
        return target


class StepStager:
    """Stages step runs under ``work_root``; thread-safe.

    Args:
        artifacts: the artifact datastore (snapshots; logs when it is local).
        resolve_datastore: returns the datastore registered under a name.
        work_root: the local scratch folder (work folders, snapshot cache).
        reuse_folders: let a step take over the work folder of an earlier step of its run.
    """

    def __init__(self, artifacts: Datastore, resolve_datastore: Callable[[str], Datastore], work_root: Path,
                 reuse_folders: bool = True):
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.work_root = Path(work_root)
        self.reuse_folders = reuse_folders
        self.snapshots = SnapshotCopier(artifacts, self.work_root / ".snapshots")
        self._ahead: dict[str, StagedStep] = {}  # by step run id
        self._spare: dict[str, list[StagedStep]] = {}  # by run id: ended steps whose folder may be reused
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
        staged = self._new(step.run_id, step.step_run_id, step.snapshot_hash, step.log_path, ahead=True)
        try:
            self._fill(staged, step.outputs)
        except BaseException:
            _remove_empty_folders(staged)
            raise
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
              outputs: dict[str, c.DataBinding], ahead: bool = False) -> StagedStep:
        """Create (or take over) the work folder with the source copy; create the log folder and outputs.

        ``ahead``: the step may start later, or never; its log files are created in the work folder,
        to be moved into the log folder when it starts (a rename is cheaper than a creation).
        """
        staged = self._new(run_id, step_run_id, snapshot_hash, log_path, ahead)
        self._fill(staged, outputs)
        return staged

    def release(self, staged: StagedStep) -> None:
        """The step of ``staged`` ended: its work folder may serve a later step of its run.

        Only when no process of its process group (its session) is left to write into it.
        """
        group = staged.process_group
        if not self.reuse_folders or group is None or not staged.stamps or _group_alive(group):
            return
        with self._lock:
            self._spare.setdefault(staged.run_id, []).append(staged)

    def forget_run(self, run_id: str) -> None:
        """Drop what was staged ahead for ``run_id`` and never ran; its empty folders go too."""
        with self._lock:
            unused = [s for s in self._ahead.values() if s.run_id == run_id]
            self._ahead = {k: s for k, s in self._ahead.items() if s.run_id != run_id}
            self._spare.pop(run_id, None)
        for staged in unused:
            _remove_empty_folders(staged)

    # -- internals -----------------------------------------------------------------------
    def _new(self, run_id: str, step_run_id: str, snapshot_hash: str, log_path: str, ahead: bool) -> StagedStep:
        return StagedStep(run_id, snapshot_hash, self.workdir(run_id, step_run_id),
                          self.log_dir(run_id, step_run_id, log_path), ahead)

    def _fill(self, staged: StagedStep, outputs: dict[str, c.DataBinding]) -> None:
        if not self._take_over(staged):
            if not make_dir(staged.workdir):  # left by an interrupted attempt: what it logged is stale
                _remove_context_files(staged.workdir)
            staged.stamps = self.snapshots.materialize(staged.snapshot_hash, staged.src)
        make_dir(staged.log_dir)
        if staged.ahead:
            for name in c.LOG_FILES:
                open(staged.workdir / name, "wb").close()
        for name, binding in outputs.items():
            self._output_in_place(name, binding, staged)

    def _take_over(self, staged: StagedStep) -> bool:
        """Move the work folder of an ended step of the same run and snapshot to ``staged``, if one fits."""
        with self._lock:
            spares = self._spare.get(staged.run_id, [])
            spare = next((s for s in spares if s.snapshot_hash == staged.snapshot_hash), None)
            if spare is None:
                return False
            spares.remove(spare)
        try:
            os.rename(spare.workdir, staged.workdir)
        except OSError:  # e.g. a folder left by an interrupted attempt is in the way
            return False
        _remove_context_files(staged.workdir)
        leftovers = {entry.name for entry in os.scandir(staged.workdir)} - {"src"}
        if leftovers or not self.snapshots.untouched(staged.snapshot_hash, staged.src, spare.stamps):
            # Changed by its step (or holding its outputs): set aside for the run's cleanup.
            os.rename(staged.workdir, staged.workdir.with_name(f".used-{uuid.uuid4().hex}"))
            return False
        staged.stamps, staged.reused = spare.stamps, True
        return True

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


def _remove_context_files(workdir: Path) -> None:
    remove_context(workdir)


def _group_alive(process_group: int) -> bool:
    try:
        os.killpg(process_group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user has the id now: not ours, but play safe
        return True
    return True


def _remove_empty_folders(staged: StagedStep) -> None:
    """Remove the output and log folders of a step that never ran (the work folder goes with its run)."""
    for folder in [*staged.in_place.values(), *(p.parent for p in staged.in_place.values()), staged.log_dir]:
        with contextlib.suppress(OSError):  # missing, or not empty: something used it after all
            os.rmdir(folder)
