"""A step waiting only for a running step is staged while that step runs; one that never runs leaves nothing."""

from __future__ import annotations

from headrace import Experiment, Pipeline, PipelineData

AHEAD = "staged while the previous step ran"


def _steps(run):
    return {s.name: s for s in run.get_steps()}


def test_a_chain_starts_each_next_step_from_a_folder_staged_ahead(workspace, ctl_step):
    ds = workspace.get_default_datastore()
    first, second = PipelineData("first", datastore=ds), PipelineData("second", datastore=ds)
    ctl_step("a", out=first)
    ctl_step("b", input=first, out=second)
    c = ctl_step("c", input=second)
    run = Experiment(workspace, "Ahead").submit(Pipeline(workspace=workspace, steps=[c]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    steps = _steps(run)
    assert AHEAD not in steps["a"].get_execution_log()  # nothing ran before it
    assert AHEAD in steps["b"].get_execution_log() and AHEAD in steps["c"].get_execution_log()
    assert steps["b"].get_stdout_log() == "b input holds ['result.txt']\nb done\n"
    assert steps["c"].get_stdout_log() == "c input holds ['result.txt']\nc done\n"
    assert steps["c"].get_stderr_log() == ""


def test_a_step_staged_ahead_that_never_runs_leaves_no_folders(workspace, tmp_path, ctl_step, wait_until):
    ds = workspace.get_default_datastore()
    first, second = PipelineData("first", datastore=ds), PipelineData("second", datastore=ds)
    ctl_step("a", out=first, exit=3)
    b = ctl_step("b", input=first, out=second)  # staged while a runs; a fails, so b never runs
    run = Experiment(workspace, "Ahead").submit(Pipeline(workspace=workspace, steps=[b]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60, raise_on_error=False) == "Failed"
    b_run = _steps(run)["b"]
    assert b_run.status == "Canceled"
    assert b_run.get_stdout_log() == "" and b_run.get_execution_log() == ""
    home = tmp_path / "home"
    log_folder = home / "artifacts" / "logs" / run.id / b_run.id
    output_folder = home / "datastores" / "workspaceblobstore" / "headrace" / "runs" / run.id / "b"
    # The agent drops what it staged once the run is over (just after waiters are woken).
    work_folder = home / "work" / run.id
    wait_until(lambda: not (log_folder.exists() or output_folder.exists() or work_folder.exists()), timeout=20,
               message="the never-run step's folders to be removed")
    assert (home / "artifacts" / "logs" / run.id / _steps(run)["a"].id / "stderr.txt").exists()
