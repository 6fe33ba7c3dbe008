"""Failing, timed-out and canceled steps, and what happens to the rest of the run (reference §4.5)."""

from __future__ import annotations

import pytest

from headrace import DataPath, Experiment, Pipeline, PipelineData, PipelineParameter
from headrace.errors import StepFailedError


@pytest.fixture(autouse=True)
def two_parallel_steps(monkeypatch):
    """Room for a failing step and a running sibling at the same time, whatever the core count."""
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "2")


def _steps(run):
    return {s.name: s for s in run.get_steps()}


def _pid(read_signal, wait_until, name: str) -> int:
    return int(wait_until(lambda: read_signal(f"{name}.pid"), message=f"step {name} to start"))


def test_failing_step_fails_the_run_and_cancels_downstream(workspace, ctl_step):
    da = PipelineData("da")
    ctl_step("bad", exit=3, out=da)  # pulled in through da
    after = ctl_step("after", input=da)
    run = Experiment(workspace, "Failures").submit(Pipeline(workspace=workspace, steps=[after]))

    with pytest.raises(StepFailedError) as caught:
        run.wait_for_completion(show_output=False)
    err = caught.value
    assert (err.step, err.exit_code, err.run_id) == ("bad", 3, run.id)
    assert "failing on purpose with code 3" in err.stderr_tail
    message = str(err)
    assert "'bad'" in message and "exit code 3" in message and "failing on purpose" in message

    assert run.get_status() == "Failed"
    steps = _steps(run)
    assert steps["bad"].status == "Failed"
    assert steps["bad"].exit_code == 3
    assert "failing on purpose" in steps["bad"].get_stderr_log()
    assert steps["after"].status == "Canceled"
    assert steps["after"].error == "not run: upstream step 'bad' failed"

    # raise_on_error=False returns the status instead.
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"


def test_failure_streams_the_reason(workspace, ctl_step, capsys):
    run = Experiment(workspace, "Failures").submit(Pipeline(workspace=workspace, steps=[ctl_step("bad", exit=2)]))
    with pytest.raises(StepFailedError):
        run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert "[bad] Failed (exit code 2)" in out
    assert "[bad stderr] bad: failing on purpose with code 2" in out


def test_stop_on_failure_cancels_running_siblings(workspace, ctl_step, read_signal, wait_until, is_alive):
    """continue_on_step_failure=False: the first failure stops the independent step that is running."""
    long = ctl_step("long", wait_for="never")
    bad = ctl_step("bad", wait_for="long.pid", exit=1)
    run = Experiment(workspace, "Failures").submit(Pipeline(workspace=workspace, steps=[long, bad]),
                                                   continue_on_step_failure=False)
    pid = _pid(read_signal, wait_until, "long")
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    steps = _steps(run)
    assert steps["bad"].status == "Failed"
    assert steps["long"].status == "Canceled"
    assert read_signal("long.end") is None  # it never got to the end
    wait_until(lambda: not is_alive(pid), message="the canceled step's process to be gone")


def test_stop_on_failure_starts_nothing_new(ctl_step, monkeypatch, make_workspace, executions):
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "1")
    ws = make_workspace("serial-home")
    steps = [ctl_step("bad", exit=1), ctl_step("later")]
    run = Experiment(ws, "Failures").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert _steps(run)["later"].status == "Canceled"
    assert _steps(run)["later"].error == "not run: the pipeline stopped after a step failed"
    assert executions("later") == 0


def test_continue_on_step_failure_lets_independent_branches_finish(workspace, ctl_step, executions, signals,
                                                                    wait_until):
    d1, d2 = PipelineData("d1"), PipelineData("d2")
    ctl_step("bad", exit=1, out=d1)
    blocked = ctl_step("blocked", input=d1)
    ctl_step("ok", wait_for="go", out=d2)  # released only once "bad" has failed
    ok2 = ctl_step("ok2", input=d2)
    run = Experiment(workspace, "Failures").submit(Pipeline(workspace=workspace, steps=[blocked, ok2]),
                                                   continue_on_step_failure=True)
    wait_until(lambda: _steps(run)["bad"].status == "Failed", message="step 'bad' to fail")
    (signals / "go").write_text("")
    with pytest.raises(StepFailedError, match="'bad'"):
        run.wait_for_completion(show_output=False)
    statuses = {n: s.status for n, s in _steps(run).items()}
    assert statuses == {"bad": "Failed", "blocked": "Canceled", "ok": "Finished", "ok2": "Finished"}
    assert _steps(run)["blocked"].error == "not run: upstream step 'bad' failed"
    assert _steps(run)["ok2"].get_execution_log().count("started at") == 1
    assert (executions("ok"), executions("ok2"), executions("blocked")) == (1, 1, 0)


def test_step_timeout_kills_the_process(workspace, ctl_step, read_signal, wait_until, is_alive):
    slow = ctl_step("slow", wait_for="never", timeout_seconds=1)
    run = Experiment(workspace, "Failures").submit(Pipeline(workspace=workspace, steps=[slow]))
    pid = _pid(read_signal, wait_until, "slow")
    with pytest.raises(StepFailedError, match="timed out after 1s") as caught:
        run.wait_for_completion(show_output=False)
    assert caught.value.step == "slow"
    step = _steps(run)["slow"]
    assert step.status == "Failed"
    assert "timed out after 1s (timeout_seconds)" in step.error
    assert "timed out" in step.get_execution_log()
    assert not is_alive(pid)


def test_cancel_a_running_run_stops_its_process(workspace, ctl_step, read_signal, wait_until, is_alive):
    da = PipelineData("da")
    ctl_step("running", wait_for="never", out=da)  # pulled in through da
    after = ctl_step("after", input=da)
    run = Experiment(workspace, "Cancel").submit(Pipeline(workspace=workspace, steps=[after]))
    pid = _pid(read_signal, wait_until, "running")
    assert is_alive(pid)
    run.cancel()
    assert run.wait_for_completion(show_output=False) == "Canceled"
    wait_until(lambda: not is_alive(pid), message="the step process to be gone")
    steps = _steps(run)
    assert steps["running"].status == "Canceled"
    assert steps["after"].status == "Canceled"
    assert steps["after"].error == "not run: the run was canceled"
    assert read_signal("running.end") is None
    run.cancel()  # canceling an ended run changes nothing
    assert run.get_status() == "Canceled"


def test_cancel_a_queued_run(make_workspace, ctl_step, monkeypatch, executions):
    monkeypatch.setenv("HEADRACE_AGENT__IN_PROCESS", "false")
    ws = make_workspace()
    run = Experiment(ws, "Cancel").submit(Pipeline(workspace=ws, steps=[ctl_step("never_runs")]))
    assert run.get_status() == "Queued"
    run.cancel()
    assert run.get_status() == "Canceled"
    assert _steps(run)["never_runs"].status == "Canceled"
    # An agent started afterwards has nothing to do.
    ws._backend.ensure_agent()
    assert run.wait_for_completion(show_output=False) == "Canceled"
    assert executions("never_runs") == 0


def test_missing_input_data_reaches_the_script_as_a_path_that_does_not_exist(workspace, ctl_step, executions):
    # Azure ML mounts the datastore, so a data path with nothing there yet reaches the script as a path
    # that does not exist (the script decides); the execution log says so, naming path and datastore.
    ds = workspace.get_default_datastore()
    data = PipelineParameter(name="data", default_value=DataPath(ds, "raw/missing.csv"))
    run = Experiment(workspace, "Failures").submit(
        Pipeline(workspace=workspace, steps=[ctl_step("reader", input=data)]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    step = _steps(run)["reader"]
    log = step.get_execution_log()
    assert "raw/missing.csv" in log and "workspaceblobstore" in log and "does not exist" in log
    assert executions("reader") == 1
