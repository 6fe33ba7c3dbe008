"""A resident agent: ``headrace agent`` serves its home's scripts on a local socket.

A script's ``Workspace(home)`` hands its runs to the agent (no SQLAlchemy in the script), errors come
back as their own classes, and a script whose agent goes away carries on with an agent of its own.
The agents and scripts are real ``python`` subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from headrace import Experiment, Pipeline, PipelineData, Workspace, local_socket
from headrace.errors import DefinitionError, NotFoundError, StepFailedError
from headrace.sdk.local import LocalBackend
from headrace.sdk.resident import ResidentBackend
from processes import stop

SCRIPT = r'''
import json, sys
from headrace import Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace

home, ctl, signals, wait_for = sys.argv[1:5]
ws = Workspace(home)
d = PipelineData("d", datastore=ws.get_default_datastore())
first = PythonScriptStep(name="first", script_name="ctl.py", source_directory=ctl,
                         arguments=["--name", "first", "--dir", signals, "--out", d], outputs=[d])
args = ["--name", "second", "--dir", signals, "--input", d] + (["--wait-for", wait_for] if wait_for else [])
second = PythonScriptStep(name="second", script_name="ctl.py", source_directory=ctl, arguments=args, inputs=[d])
run = Experiment(ws, "resident").submit(Pipeline(workspace=ws, steps=[second]))
print(json.dumps({"run": run.id, "backend": type(ws._backend).__name__}), flush=True)
status = run.wait_for_completion(show_output=False)
print(json.dumps({"status": status, "sqlalchemy": "sqlalchemy" in sys.modules,
                  "details": run.get_details()["status"]}), flush=True)
'''


@pytest.fixture
def agent(tmp_path: Path, wait_until):
    """``agent.start()`` runs ``headrace agent`` on ``tmp_path/home`` and waits for its socket."""

    class Agent:
        def __init__(self) -> None:
            self.home = tmp_path / "home"
            self.procs: list[subprocess.Popen] = []

        def start(self, listens: bool = True) -> subprocess.Popen:
            log = open(tmp_path / f"agent-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed below
            env = dict(os.environ, HEADRACE_AGENT__POLL_SECONDS="0.05")
            proc = subprocess.Popen([sys.executable, "-m", "headrace", "agent", "--home", str(self.home)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            proc.log = log  # type: ignore[attr-defined]
            proc.log_path = Path(log.name)  # type: ignore[attr-defined]
            self.procs.append(proc)
            wait_until(lambda: "serving" in proc.log_path.read_text() or proc.poll() is not None,
                       timeout=30, message="the agent to start")
            assert proc.poll() is None, proc.log_path.read_text()
            assert ("hand it their runs" in proc.log_path.read_text()) is listens, proc.log_path.read_text()
            return proc

    agent = Agent()
    yield agent
    for proc in agent.procs:
        stop(proc)
        proc.log.close()


def _script(tmp_path: Path, home: Path, ctl_dir: Path, signals: Path, wait_for: str = "") -> subprocess.Popen:
    script = tmp_path / "chain.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(home), str(ctl_dir), str(signals), wait_for],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _own_store(home: Path, monkeypatch) -> Workspace:
    """The home opened by the test itself (not through the agent), to check what was recorded."""
    monkeypatch.setenv("HEADRACE_RESIDENT", "0")
    ws = Workspace(home)
    monkeypatch.delenv("HEADRACE_RESIDENT")
    assert isinstance(ws._backend, LocalBackend)
    return ws


def test_a_script_hands_its_run_to_the_resident_agent(tmp_path, agent, ctl_dir, signals, monkeypatch):
    proc = agent.start()
    script = _script(tmp_path, agent.home, ctl_dir, signals)
    out, err = script.communicate(timeout=120)
    assert script.returncode == 0, err
    submitted, ended = (json.loads(line) for line in out.splitlines())
    assert submitted["backend"] == "ResidentBackend"
    # No store in the script, so no agent either: the resident agent ran the steps.
    assert ended == {"status": "Finished", "sqlalchemy": False, "details": "Finished"}
    record = _own_store(agent.home, monkeypatch)._backend.get_run(submitted["run"])
    assert record.status.value == "Finished" and proc.poll() is None
    assert (signals / "second.end").exists()


def test_errors_come_back_as_their_own_classes(agent, ctl_step, monkeypatch):
    agent.start()
    ws = Workspace(agent.home)
    assert isinstance(ws._backend, ResidentBackend)
    with pytest.raises(NotFoundError, match="registered datastores: workspaceblobstore"):
        ws._backend.datastore_record("missing")
    d = PipelineData("d", datastore="nowhere")
    with pytest.raises(DefinitionError) as refused:
        Experiment(ws, "errors").submit(Pipeline(workspace=ws, steps=[ctl_step("a", out=d)]))
    assert any("nowhere" in problem for problem in refused.value.problems)
    run = Experiment(ws, "errors").submit(Pipeline(workspace=ws, steps=[ctl_step("b", exit=3)]))
    with pytest.raises(StepFailedError) as failed:
        run.wait_for_completion(show_output=False)
    assert failed.value.exit_code == 3 and failed.value.step == "b"


def test_a_script_goes_on_when_its_agent_stops(tmp_path, agent, ctl_dir, signals, read_signal, wait_until):
    proc = agent.start()
    script = _script(tmp_path, agent.home, ctl_dir, signals, wait_for="release")
    wait_until(lambda: read_signal("second.pid"), timeout=60, message="step 'second' to start")
    proc.send_signal(signal.SIGTERM)  # the agent puts the run back in the queue and stops
    assert proc.wait(timeout=30) == 0
    (signals / "release").write_text("")
    out, err = script.communicate(timeout=120)
    assert script.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["status"] == "Finished"
    assert "went away" in err and "agent of its own" in err
    assert len((signals / "first.count").read_text().splitlines()) == 1  # its finished step was kept


def test_a_dead_agents_socket_is_not_used_and_is_replaced(agent, monkeypatch):
    first = agent.start()
    first.kill()
    first.wait(timeout=20)
    assert local_socket.socket_path(agent.home.resolve()).exists()  # left behind
    assert isinstance(Workspace(agent.home)._backend, LocalBackend)
    second = agent.start()  # takes the socket over
    assert isinstance(Workspace(agent.home)._backend, ResidentBackend)
    agent.start(listens=False)  # a second agent of the home runs runs but does not listen
    assert second.poll() is None and isinstance(Workspace(agent.home)._backend, ResidentBackend)


def test_a_script_of_another_store_runs_its_own_agent(agent, monkeypatch, tmp_path):
    agent.start()
    monkeypatch.setenv("HEADRACE_DB_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert isinstance(Workspace(agent.home)._backend, LocalBackend)


def test_only_processes_of_the_same_user_are_served():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        local_socket.check_peer(left)  # same user: no error
    if os.getuid() != 0:
        return  # connecting as another user takes root
    # As root, a child that changed to another user connects: the check refuses it.
    server = socket.socket(socket.AF_UNIX)
    path = Path(f"/tmp/headrace-peer-{os.getpid()}.sock")
    path.unlink(missing_ok=True)
    server.bind(str(path))
    os.chmod(path, 0o777)
    server.listen(1)
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(path))
            s.recv(1)
        finally:
            os._exit(0)
    conn, _ = server.accept()
    with conn:
        with pytest.raises(local_socket.PeerError, match="user id 65534"):
            local_socket.check_peer(conn)
    os.waitpid(child, 0)
    server.close()
    path.unlink()


def test_a_cancel_reaches_the_agent_at_once(agent, ctl_step, signals, read_signal, wait_until):
    agent.start()
    ws = Workspace(agent.home)
    run = Experiment(ws, "cancel").submit(Pipeline(workspace=ws, steps=[ctl_step("held", wait_for="release")]))
    wait_until(lambda: read_signal("held.pid"), timeout=60, message="step 'held' to start")
    run.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"
    assert not (signals / "held.end").exists()  # stopped, not finished


def test_a_script_run_goes_to_the_agent(agent, write_scripts):
    from headrace import ScriptRunConfig

    agent.start()
    ws = Workspace(agent.home)
    src = write_scripts({"train.py": "import sys\nprint('trained with', sys.argv[1:])\n"})
    run = Experiment(ws, "script").submit(ScriptRunConfig(source_directory=str(src), script="train.py",
                                                          arguments=["--lr", "0.1"]))
    assert run.wait_for_completion(show_output=False)["status"] == "Completed"  # Azure ML: the details
    assert isinstance(ws._backend, ResidentBackend) and ws._backend.resident


def test_auto_starts_an_agent_for_later_scripts_which_exits_when_idle(tmp_path, ctl_dir, signals, monkeypatch,
                                                                       is_alive, wait_until):
    home = tmp_path / "home"
    monkeypatch.setenv("HEADRACE_AGENT__RESIDENT", "auto")
    monkeypatch.setenv("HEADRACE_AGENT__RESIDENT_IDLE_SECONDS", "6")
    pids = []
    try:
        for _ in range(2):
            script = _script(tmp_path, home, ctl_dir, signals)
            out, err = script.communicate(timeout=120)
            assert script.returncode == 0, err
            submitted, ended = (json.loads(line) for line in out.splitlines())
            assert submitted["backend"] == "ResidentBackend" and ended["status"] == "Finished"
            assert ended["sqlalchemy"] is False
            ws = Workspace(home)
            pids.append(ws._backend.call("hello", *_same_headrace())["pid"])
            ws._backend.close()
        assert pids[0] == pids[1]  # the second script found the agent the first one started
        assert "nothing to do" not in (home / "agent.log").read_text()
        wait_until(lambda: not is_alive(pids[0]), timeout=60, message="the idle agent to exit")
        assert "nothing to do for 6 s: exiting" in (home / "agent.log").read_text()
    finally:
        for pid in pids:
            if is_alive(pid):
                os.kill(pid, signal.SIGKILL)


def _same_headrace() -> tuple[str, str, None]:
    import headrace

    return headrace.__version__, headrace.__file__, None


def test_auto_replaces_a_killed_agent(agent, monkeypatch, is_alive):
    first = agent.start()
    first.kill()
    first.wait(timeout=20)
    monkeypatch.setenv("HEADRACE_AGENT__RESIDENT", "auto")
    ws = Workspace(agent.home)  # the socket left behind answers no more: a new agent is started
    assert isinstance(ws._backend, ResidentBackend)
    pid = ws._backend.call("hello", *_same_headrace())["pid"]
    try:
        assert pid != first.pid and is_alive(pid)
    finally:
        os.kill(pid, signal.SIGTERM)


def test_a_datapath_of_a_datastore_object_crosses_the_socket(agent, write_scripts):
    from headrace import DataPath, PipelineParameter, PythonScriptStep
    from headrace.sdk.resident import _portable

    agent.start()
    ws = Workspace(agent.home)
    ds = ws.get_default_datastore()
    raw = agent.home / "datastores" / "workspaceblobstore" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.txt").write_text("from a")
    (raw / "b.txt").write_text("from b")
    data = PipelineParameter(name="input_data", default_value=DataPath(ds, "raw/a.txt"))
    src = write_scripts({"read.py": "import sys\nprint(open(sys.argv[1]).read())\n"})
    step = PythonScriptStep(name="read", script_name="read.py", source_directory=src, arguments=[data], inputs=[data])
    override = {"input_data": ds.path("raw/b.txt")}  # holds its Datastore, and through it the workspace
    assert _portable({"pipeline_parameters": override}) is not None
    run = Experiment(ws, "datapath").submit(Pipeline(workspace=ws, steps=[step]), pipeline_parameters=override)
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("read")[0].get_stdout_log() == "from b\n"
    assert _portable({"pipeline_parameters": {"lock": __import__("threading").Lock()}}) is None
