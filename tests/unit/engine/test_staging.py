"""``SnapshotCopier``: a step's source folder gets exactly the snapshot's files, however often."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.snapshots import store_snapshot
from headrace.engine import compute as c
from headrace.engine.snapshot_copy import SnapshotCopier
from headrace.engine.staging import StepStager
from headrace.errors import DatastoreError


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "source"
    (src / "pkg" / "sub").mkdir(parents=True)
    (src / "main.py").write_text("print('hi')\n")
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "sub" / "data.txt").write_text("payload")
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(src / "run.sh", 0o755)
    return src


@pytest.fixture
def artifacts(tmp_path):
    return FsspecDatastore("_artifacts", (tmp_path / "artifacts").as_uri())


def tree(root):
    return sorted(
        (str(p.relative_to(root)), p.read_bytes() if p.is_file() else None, bool(p.stat().st_mode & stat.S_IXUSR))
        for p in root.rglob("*")
    )


def test_every_copy_has_the_snapshot_files_and_modes(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    first, second = tmp_path / "w1" / "src", tmp_path / "w2" / "src"
    first.parent.mkdir()
    second.parent.mkdir()
    copier.materialize(digest, first)  # extracts into the cache
    copier.materialize(digest, second)  # copies from the remembered listing
    assert tree(first) == tree(source)
    assert tree(second) == tree(source)
    assert os.access(second / "run.sh", os.X_OK)
    assert not os.access(second / "main.py", os.X_OK)


def test_a_copy_merges_into_an_existing_folder(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    dest = tmp_path / "w" / "src"
    dest.parent.mkdir()
    copier.materialize(digest, dest)
    (dest / "main.py").write_text("changed by the last attempt")
    (dest / "leftover.txt").write_text("x")
    copier.materialize(digest, dest)
    assert (dest / "main.py").read_text() == "print('hi')\n"
    assert (dest / "leftover.txt").exists()


def test_a_removed_cache_is_extracted_again(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    copier.materialize(digest, tmp_path / "a" / "src")
    shutil.rmtree(tmp_path / "cache")
    copier.materialize(digest, tmp_path / "b" / "src")
    assert tree(tmp_path / "b" / "src") == tree(source)


def test_an_unknown_snapshot_is_a_datastore_error(tmp_path, artifacts):
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    with pytest.raises(DatastoreError, match="not in datastore"):
        copier.materialize("0" * 64, tmp_path / "src")


# -- StepStager ---------------------------------------------------------------------------------
@pytest.fixture
def stager(tmp_path, artifacts):
    data = FsspecDatastore("data", (tmp_path / "data").as_uri())
    return StepStager(artifacts, lambda name: data, tmp_path / "work")


def upcoming(run_id: str, step_run_id: str, digest: str) -> c.UpcomingStep:
    return c.UpcomingStep(run_id=run_id, step_run_id=step_run_id, snapshot_hash=digest,
                          log_path=f"logs/{run_id}/{step_run_id}",
                          outputs={"out": c.DataBinding("data", f"headrace/runs/{run_id}/{step_run_id}/out")})


def task_for(step: c.UpcomingStep) -> c.StepTask:
    return c.StepTask(run_id=step.run_id, step_run_id=step.step_run_id, step_name="step", experiment_name="e",
                      snapshot_hash=step.snapshot_hash, script_name="main.py", arguments=[], inputs={},
                      outputs=step.outputs, env={}, log_path=step.log_path)


def test_a_step_staged_ahead_starts_from_its_folders(tmp_path, source, artifacts, stager):
    step = upcoming("run1", "sr1", store_snapshot(source, artifacts))
    stager.stage_ahead(step)
    staged = stager.take(task_for(step))
    assert staged.ahead and tree(staged.src) == tree(source)
    assert staged.in_place["out"].is_dir()
    assert not (staged.log_dir / "stdout.txt").exists()  # log files wait in the work folder
    path = staged.log_file("stdout.txt")
    assert path == staged.log_dir / "stdout.txt" and path.exists()
    assert not (staged.workdir / "stdout.txt").exists()


def test_a_step_staged_ahead_that_never_runs_leaves_no_folders(tmp_path, source, artifacts, stager):
    digest = store_snapshot(source, artifacts)
    never, ran = upcoming("run1", "sr1", digest), upcoming("run1", "sr2", digest)
    stager.stage_ahead(never)
    stager.stage_ahead(ran)
    used = stager.take(task_for(ran))
    (used.in_place["out"] / "result.txt").write_text("x")
    stager.forget_run("run1")
    assert not (tmp_path / "artifacts" / "logs" / "run1" / "sr1").exists()
    assert not (tmp_path / "data" / "headrace" / "runs" / "run1" / "sr1").exists()
    assert (used.in_place["out"] / "result.txt").exists()  # what a step that ran wrote is kept


def test_staging_ahead_a_missing_snapshot_fails_and_leaves_no_log_folder(tmp_path, stager):
    with pytest.raises(DatastoreError):
        stager.stage_ahead(upcoming("run1", "sr1", "0" * 64))
    assert not (tmp_path / "artifacts" / "logs" / "run1" / "sr1").exists()


# -- untouched copies and reused work folders ---------------------------------------------------
def test_a_copy_is_untouched_until_anything_in_it_changes(tmp_path, source, artifacts):
    digest = store_snapshot(source, artifacts)
    copier = SnapshotCopier(artifacts, tmp_path / "cache")
    (tmp_path / "w").mkdir()
    dest = tmp_path / "w" / "src"
    copier.materialize(digest, dest)
    stamps = copier.materialize(digest, dest)  # from the listing
    assert copier.untouched(digest, dest, stamps)
    st = (dest / "main.py").stat()
    (dest / "main.py").write_text("print('HI')\n")  # same size, old times put back: the ctime tells
    os.utime(dest / "main.py", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not copier.untouched(digest, dest, stamps)
    stamps = copier.materialize(digest, dest)
    (dest / "pkg" / "new.txt").write_text("x")
    assert not copier.untouched(digest, dest, stamps)
    (dest / "pkg" / "new.txt").unlink()
    assert copier.untouched(digest, dest, stamps)
    (dest / "pkg" / "sub" / "data.txt").unlink()
    assert not copier.untouched(digest, dest, stamps)


def ended_group() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    return proc.pid


def staged_for(stager, step: c.UpcomingStep):
    return stager.stage(step.run_id, step.step_run_id, step.snapshot_hash, step.log_path, step.outputs)


def test_an_unchanged_work_folder_of_an_ended_step_is_taken_over(tmp_path, source, artifacts, stager):
    digest = store_snapshot(source, artifacts)
    first = staged_for(stager, upcoming("run1", "sr1", digest))
    assert not first.reused
    (first.workdir / c.METRICS_FILE).write_text('{"name": "x", "value": 1}\n')  # read by the agent already
    first.process_group = ended_group()
    stager.release(first)
    second = staged_for(stager, upcoming("run1", "sr2", digest))
    assert second.reused and second.workdir == tmp_path / "work" / "run1" / "sr2"
    assert tree(second.src) == tree(source)
    assert not first.workdir.exists() and not (second.workdir / c.METRICS_FILE).exists()
    third = staged_for(stager, upcoming("run1", "sr3", digest))  # nothing spare: a new folder
    assert not third.reused and tree(third.src) == tree(source)


def test_a_changed_work_folder_is_set_aside_not_reused(tmp_path, source, artifacts, stager):
    digest = store_snapshot(source, artifacts)
    first = staged_for(stager, upcoming("run1", "sr1", digest))
    (first.src / "main.py").write_text("changed by the step")
    first.process_group = ended_group()
    stager.release(first)
    second = staged_for(stager, upcoming("run1", "sr2", digest))
    assert not second.reused and tree(second.src) == tree(source)
    assert [p.name.startswith(".used-") for p in (tmp_path / "work" / "run1").iterdir()].count(True) == 1


def test_a_work_folder_whose_step_left_a_process_is_not_reused(tmp_path, source, artifacts, stager):
    digest = store_snapshot(source, artifacts)
    first = staged_for(stager, upcoming("run1", "sr1", digest))
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                          start_new_session=True) as lingering:
        try:
            first.process_group = lingering.pid
            stager.release(first)
            second = staged_for(stager, upcoming("run1", "sr2", digest))
            assert not second.reused and first.workdir.exists()
        finally:
            lingering.kill()


def test_folders_are_not_reused_across_runs_or_snapshots(tmp_path, source, artifacts, stager):
    digest = store_snapshot(source, artifacts)
    (source / "extra.py").write_text("x = 1\n")
    other = store_snapshot(source, artifacts)
    first = staged_for(stager, upcoming("run1", "sr1", digest))
    first.process_group = ended_group()
    stager.release(first)
    assert not staged_for(stager, upcoming("run2", "sr2", digest)).reused
    assert not staged_for(stager, upcoming("run1", "sr3", other)).reused
    assert staged_for(stager, upcoming("run1", "sr4", digest)).reused
