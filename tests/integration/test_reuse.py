"""Step reuse: what keeps a step's results valid, and what forces it to run again.

``executions(name)`` counts real executions of a ``ctl.py`` step, so "reused" is checked both in
the store (``is_reused``, ``reused_run_id``) and on disk (the script did not run).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from headrace import DataPath, Experiment, Pipeline, PipelineData, PipelineParameter


def _submit(ws, pipeline, **options):
    run = Experiment(ws, "Reuse").submit(pipeline, **options)
    assert run.wait_for_completion(show_output=False) == "Finished"
    return run


def _steps(run):
    return {s.name: s for s in run.get_steps()}


def _reused(run) -> dict[str, bool]:
    return {s.name: s.is_reused for s in run.get_steps()}


@pytest.fixture
def chain(workspace, ctl_step):
    """a (uses parameter p, writes da) -> b (reads da); c is independent and uses no parameter."""
    p = PipelineParameter(name="p", default_value=1)
    da = PipelineData("da")
    ctl_step("a", value=p, out=da)  # pulled in through da
    b = ctl_step("b", input=da)
    c = ctl_step("c")
    return Pipeline(workspace=workspace, steps=[b, c])


def test_unchanged_resubmit_reuses_every_step_and_points_to_the_original(workspace, chain, executions):
    first = _submit(workspace, chain)
    assert _reused(first) == {"a": False, "b": False, "c": False}
    second = _submit(workspace, chain)
    assert _reused(second) == {"a": True, "b": True, "c": True}
    originals = _steps(first)
    for name, step in _steps(second).items():
        assert step.status == "Finished"
        assert step.reused_run_id == originals[name].id
        assert "reuse: reused results of step run " + originals[name].id in step.get_execution_log()
    assert [executions(n) for n in "abc"] == [1, 1, 1]

    # A reused step shows the logs and outputs of the run it reused.
    assert _steps(second)["a"].get_stdout_log() == originals["a"].get_stdout_log()
    assert "a done" in _steps(second)["a"].get_stdout_log()
    out = Path(_steps(second)["a"].get_output_data("da").download(Path("dl")))
    assert (out / "result.txt").read_text() == "a"

    # Reusing a reused step points at the step run that really executed, not at the copy.
    third = _submit(workspace, chain)
    assert {n: s.reused_run_id for n, s in _steps(third).items()} == {n: s.id for n, s in originals.items()}


def test_changed_parameter_reruns_only_the_steps_that_depend_on_it(workspace, chain, executions):
    first = _submit(workspace, chain, pipeline_parameters={"p": 1})
    changed = _submit(workspace, chain, pipeline_parameters={"p": 2})
    assert _reused(changed) == {"a": False, "b": False, "c": True}
    assert _steps(changed)["c"].reused_run_id == _steps(first)["c"].id
    assert "a value 2" in _steps(changed)["a"].get_stdout_log()
    assert [executions(n) for n in "abc"] == [2, 2, 1]
    # Back to the first value: the first run's results are still valid.
    back = _submit(workspace, chain, pipeline_parameters={"p": 1})
    assert _reused(back) == {"a": True, "b": True, "c": True}
    assert _steps(back)["a"].reused_run_id == _steps(first)["a"].id


def test_changed_script_reruns_the_steps_of_that_folder(workspace, write_scripts, executions, signals):
    from headrace import PythonScriptStep

    one = write_scripts({"s.py": "print('version 1')\n"})
    other = write_scripts({"s.py": "print('other')\n"})
    step = PythonScriptStep(name="s", script_name="s.py", source_directory=one)
    untouched = PythonScriptStep(name="u", script_name="s.py", source_directory=other)
    pipeline = Pipeline(workspace=workspace, steps=[step, untouched])
    _submit(workspace, pipeline)
    assert _reused(_submit(workspace, pipeline)) == {"s": True, "u": True}

    (one / "s.py").write_text("print('version 2')\n")
    rebuilt = Pipeline(workspace=workspace, steps=[step, untouched])
    run = _submit(workspace, rebuilt)
    assert _reused(run) == {"s": False, "u": True}
    assert _steps(run)["s"].get_stdout_log() == "version 2\n"

    # A new file in the source folder is a change too.
    (one / "helper.py").write_text("X = 1\n")
    assert _reused(_submit(workspace, Pipeline(workspace=workspace, steps=[step, untouched]))) == {
        "s": False, "u": True}


def _datapath_pipeline(ws, ctl_step):
    ds = ws.get_default_datastore()
    data = PipelineParameter(name="data", default_value=DataPath(ds, "raw/data.csv"))
    return Pipeline(workspace=ws, steps=[ctl_step("read", input=data)])


def _upload(ws, text: str) -> Path:
    Path("data.csv").write_text(text)
    ws.get_default_datastore().upload_files(["data.csv"], target_path="raw", overwrite=True)
    return ws.home / "datastores" / "workspaceblobstore" / "raw" / "data.csv"


def test_changed_content_behind_the_same_path_reruns(workspace, ctl_step, executions):
    """The fix over Azure ML v1: new data at an unchanged path invalidates reuse."""
    stored = _upload(workspace, "a,b\n1,2\n")
    pipeline = _datapath_pipeline(workspace, ctl_step)
    _submit(workspace, pipeline)
    assert _reused(_submit(workspace, pipeline)) == {"read": True}

    _upload(workspace, "a,b\n1,3\n")  # same size, same path, new content
    run = _submit(workspace, pipeline)
    assert _reused(run) == {"read": False}
    assert executions("read") == 2
    log = _steps(run)["read"].get_execution_log()
    assert "raw/data.csv" in log and "content hash" in log

    # Small files are compared by content: rewriting the same bytes later keeps reuse.
    _upload(workspace, "a,b\n1,3\n")
    later = stored.stat().st_mtime + 10
    os.utime(stored, (later, later))
    assert _reused(_submit(workspace, pipeline)) == {"read": True}
    assert executions("read") == 2


def test_large_files_are_compared_by_size_and_mtime(make_workspace, ctl_step, executions, monkeypatch):
    monkeypatch.setenv("HEADRACE_AGENT__SMALL_FILE_BYTES", "4")  # every test file counts as large
    ws = make_workspace()
    stored = _upload(ws, "a,b\n1,2\n")
    pipeline = _datapath_pipeline(ws, ctl_step)
    _submit(ws, pipeline)
    assert _reused(_submit(ws, pipeline)) == {"read": True}

    # The same bytes with a new modification time: a large file is not re-read, so it counts as changed.
    later = stored.stat().st_mtime + 10
    os.utime(stored, (later, later))
    run = _submit(ws, pipeline)
    assert _reused(run) == {"read": False}
    assert "size + version" in _steps(run)["read"].get_execution_log()
    assert executions("read") == 2
    assert _reused(_submit(ws, pipeline)) == {"read": True}


def test_regenerate_outputs_forces_every_step(workspace, chain, executions):
    _submit(workspace, chain)
    run = _submit(workspace, chain, regenerate_outputs=True)
    assert _reused(run) == {"a": False, "b": False, "c": False}
    assert "reuse: disabled for this run (regenerate_outputs=True)" in _steps(run)["c"].get_execution_log()
    assert [executions(n) for n in "abc"] == [2, 2, 2]


def test_allow_reuse_false_forces_that_step(workspace, ctl_step, executions):
    steps = [ctl_step("kept"), ctl_step("always", allow_reuse=False)]
    pipeline = Pipeline(workspace=workspace, steps=steps)
    _submit(workspace, pipeline)
    run = _submit(workspace, pipeline)
    assert _reused(run) == {"kept": True, "always": False}
    assert "reuse: disabled for this step (allow_reuse=False)" in _steps(run)["always"].get_execution_log()
    assert (executions("kept"), executions("always")) == (1, 2)


def test_deleted_outputs_prevent_reuse(workspace, chain, executions):
    first = _submit(workspace, chain)
    output = _steps(first)["a"].get_output_data("da")
    shutil.rmtree(workspace.home / "datastores" / output.datastore_name / output.path_on_datastore)
    run = _submit(workspace, chain)
    assert _reused(run) == {"a": False, "b": False, "c": True}
    assert "are gone; running" in _steps(run)["a"].get_execution_log()
    assert [executions(n) for n in "abc"] == [2, 2, 1]


def _folder_pipeline(ws, ctl_step):
    return Pipeline(workspace=ws, steps=[ctl_step("read", input=DataPath(ws.get_default_datastore(), "raw"))])


def test_a_step_that_cannot_be_reused_records_the_key_of_its_folder_taken_while_it_ran(workspace, ctl_step,
                                                                                       executions, monkeypatch):
    from headrace.engine import late_keys

    monkeypatch.setattr(late_keys, "RACY_SECONDS", 0.0)  # the folder is written just before: vouch for it anyway
    _upload(workspace, "a,b\n1,2\n")
    pipeline = _folder_pipeline(workspace, ctl_step)
    forced = _steps(_submit(workspace, pipeline, regenerate_outputs=True))["read"]
    log = forced.get_execution_log()
    assert "reuse key: taken while the step runs" in log and "(taken while the step ran)" in log
    [fingerprint] = forced._record.properties["input_fingerprints"].values()
    assert forced._record.reuse_key and fingerprint.startswith("workspaceblobstore:raw:")
    again = _steps(_submit(workspace, pipeline))["read"]  # the same key as an up-front fingerprint's
    assert again.is_reused and again.reused_run_id == forced.id and executions("read") == 1

    _upload(workspace, "a,b\n1,3\n")
    assert _reused(_submit(workspace, pipeline)) == {"read": False}
    assert executions("read") == 2


def test_a_folder_changed_just_before_the_step_started_leaves_it_without_a_key(workspace, ctl_step, executions):
    _upload(workspace, "a,b\n1,2\n")  # within RACY_SECONDS of the start: the step may have read an older version
    pipeline = _folder_pipeline(workspace, ctl_step)
    forced = _steps(_submit(workspace, pipeline, regenerate_outputs=True))["read"]
    assert forced._record.reuse_key is None and "no reuse key" in forced.get_execution_log()
    assert _reused(_submit(workspace, pipeline)) == {"read": False}
    assert executions("read") == 2
