"""Kill -9 mid-run: the next agent applies the orphan policy, and no run stays Running.

The SDK process only submits (``HEADRACE_AGENT__IN_PROCESS=false``); runs are executed by
``python -m headrace agent`` subprocesses, the first of which is killed with SIGKILL while a
step is running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from headrace import Experiment, Pipeline, PipelineData
from processes import stop

TERMINAL = {"Finished", "Failed", "Canceled"}


@pytest.fixture
def agents(tmp_path: Path, signals: Path):
    """``agents.start(home)`` runs ``headrace agent`` for ``home``; all are stopped after the test,
    and step processes they left behind are killed."""

    class Agents:
        def __init__(self) -> None:
            self.procs: list[subprocess.Popen] = []

        def start(self, home: Path) -> subprocess.Popen:
            log = open(tmp_path / f"agent-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed below
            env = dict(os.environ, HEADRACE_AGENT__POLL_SECONDS="0.05")
            proc = subprocess.Popen([sys.executable, "-m", "headrace", "agent", "--home", str(home)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            proc.log = log  # type: ignore[attr-defined]
            self.procs.append(proc)
            return proc

    agents = Agents()
    yield agents
    for proc in agents.procs:
        stop(proc)
        proc.log.close()
    for pid_file in signals.glob("*.pid"):
        _kill_group(int(pid_file.read_text()))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # steps run in their own session: pgid == pid
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture
def ws(make_workspace, monkeypatch):
    monkeypatch.setenv("HEADRACE_AGENT__IN_PROCESS", "false")
    return make_workspace()


@pytest.fixture
def two_step_pipeline(ws, ctl_step):
    """first (quick, writes d) -> long (reads d, runs until the file ``release`` exists)."""
    d = PipelineData("d")
    ctl_step("first", out=d)
    long = ctl_step("long", input=d, wait_for="release")
    return Pipeline(workspace=ws, steps=[long])


def _statuses(run) -> dict[str, str]:
    return {s.name: s.status for s in run.get_steps()}


def _kill_agent_mid_run(ws, pipeline, agents, read_signal, wait_until, is_alive):
    run = Experiment(ws, "Recovery").submit(pipeline)
    assert run.get_status() == "Queued"
    first_agent = agents.start(ws.home)
    step_pid = int(wait_until(lambda: read_signal("long.pid"), timeout=30, message="step 'long' to start"))
    wait_until(lambda: _statuses(run) == {"first": "Finished", "long": "Running"}, message="long Running")

    os.kill(first_agent.pid, signal.SIGKILL)
    first_agent.wait(timeout=20)
    _kill_group(step_pid)  # the orphaned step process
    wait_until(lambda: not is_alive(step_pid), message="the orphaned step process to die")
    assert run.get_status() == "Running"  # nobody has noticed yet
    return run


def test_fail_policy_marks_the_lost_step_failed(ws, two_step_pipeline, agents, read_signal, wait_until,
                                                is_alive, executions):
    run = _kill_agent_mid_run(ws, two_step_pipeline, agents, read_signal, wait_until, is_alive)
    first_id = run.find_step_run("first")[0].id

    agents.start(ws.home)  # default policy: fail
    wait_until(lambda: run.get_status() in TERMINAL, timeout=30, message="the orphaned run to end")
    assert run.get_status() == "Failed"
    assert _statuses(run) == {"first": "Finished", "long": "Failed"}
    lost = run.find_step_run("long")[0]
    assert lost.error.startswith("agent lost")
    assert run.find_step_run("first")[0].id == first_id
    details = run.get_details()
    message = details["error"]["error"]["message"]  # Azure ML's shape
    assert "was lost" in message and "HEADRACE_AGENT__ORPHAN_POLICY=requeue" in message
    assert (executions("first"), executions("long")) == (1, 1)
    assert all(r.status.value in TERMINAL for r in ws._backend.list_runs())


def test_requeue_policy_resumes_and_keeps_finished_steps(ws, two_step_pipeline, agents, read_signal, wait_until,
                                                         is_alive, executions, signals, monkeypatch):
    run = _kill_agent_mid_run(ws, two_step_pipeline, agents, read_signal, wait_until, is_alive)
    first = run.find_step_run("first")[0]
    first_ended = ws._backend.get_step_run(first.id).ended_at

    (signals / "release").write_text("")  # the re-executed step may finish this time
    monkeypatch.setenv("HEADRACE_AGENT__ORPHAN_POLICY", "requeue")
    agents.start(ws.home)
    wait_until(lambda: run.get_status() in TERMINAL, timeout=30, message="the resumed run to end")
    assert run.get_status() == "Finished"
    assert _statuses(run) == {"first": "Finished", "long": "Finished"}
    kept = ws._backend.get_step_run(first.id)
    assert kept.ended_at == first_ended and kept.reused_from is None
    assert (executions("first"), executions("long")) == (1, 2)
    assert ws._backend.get_run(run.id).attempt == 2
    resumed = run.find_step_run("long")[0]
    assert resumed.error is None and resumed.exit_code == 0
    assert "long input holds ['result.txt']" in resumed.get_stdout_log()
    assert all(r.status.value in TERMINAL for r in ws._backend.list_runs())


def test_sigterm_puts_running_runs_back_in_the_queue(ws, two_step_pipeline, agents, read_signal, wait_until,
                                                     is_alive, executions, signals):
    run = Experiment(ws, "Shutdown").submit(two_step_pipeline)
    agent = agents.start(ws.home)
    step_pid = int(wait_until(lambda: read_signal("long.pid"), timeout=30, message="step 'long' to start"))
    wait_until(lambda: _statuses(run) == {"first": "Finished", "long": "Running"}, message="long Running")

    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0  # a step that never ends does not keep the agent alive
    wait_until(lambda: not is_alive(step_pid), message="the interrupted step process to die")
    assert run.get_status() == "Queued"
    assert _statuses(run) == {"first": "Finished", "long": "NotStarted"}
    assert "agent shut down" in run.find_step_run("long")[0].error

    (signals / "release").write_text("")
    agents.start(ws.home)
    wait_until(lambda: run.get_status() in TERMINAL, timeout=30, message="the resumed run to end")
    assert run.get_status() == "Finished"
    assert (executions("first"), executions("long")) == (1, 2)


CHILD_SCRIPT = r'''
import os, sys, time
from headrace import Run
signals = sys.argv[1]
child = Run.get_context().child_run("fold-1")
child.log("loss", 0.5)
with open(os.path.join(signals, "child.pid"), "w") as f:
    f.write(str(os.getpid()))
deadline = time.monotonic() + 120
while not os.path.exists(os.path.join(signals, "release")) and time.monotonic() < deadline:
    time.sleep(0.05)
'''


@pytest.mark.parametrize("policy, step_status", [("fail", "Failed"), ("requeue", "Finished")])
def test_child_runs_of_a_lost_step_do_not_stay_running(ws, agents, read_signal, wait_until, is_alive, signals,
                                                       tmp_path, monkeypatch, policy, step_status):
    """A child run the agent recorded Running while the step ran ends with the lost attempt (not Running for
    ever), whichever the orphan policy."""
    from headrace import PythonScriptStep

    folder = tmp_path / "child-src"
    folder.mkdir()
    (folder / "child.py").write_text(CHILD_SCRIPT)
    step = PythonScriptStep(name="long", script_name="child.py", source_directory=str(folder),
                            arguments=[str(signals)], allow_reuse=False)
    run = Experiment(ws, "RecoveryChildren").submit(Pipeline(workspace=ws, steps=[step]))
    first_agent = agents.start(ws.home)
    step_pid = int(wait_until(lambda: read_signal("child.pid"), timeout=30, message="the step to start"))
    long = run.find_step_run("long")[0]
    wait_until(lambda: [c.get_status() for c in long.get_children()] == ["Running"], timeout=30,
               message="the child run recorded Running while the step runs")
    lost_child = next(iter(long.get_children())).id

    os.kill(first_agent.pid, signal.SIGKILL)
    first_agent.wait(timeout=20)
    _kill_group(step_pid)
    wait_until(lambda: not is_alive(step_pid), message="the orphaned step process to die")
    if policy == "requeue":
        (signals / "release").write_text("")
    monkeypatch.setenv("HEADRACE_AGENT__ORPHAN_POLICY", policy)
    agents.start(ws.home)
    wait_until(lambda: run.get_status() in TERMINAL, timeout=60, message="the orphaned run to end")
    assert _statuses(run) == {"long": step_status}
    old = ws._backend.get_run(lost_child)
    assert old.status.value == "Failed" and "agent lost" in (old.error or ""), (old.status, old.error)
