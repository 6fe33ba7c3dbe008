"""``headrace server`` serves its home's scripts on the local socket too (one listener for all workers)."""

from __future__ import annotations

import pytest

from headrace import Experiment, Pipeline, PythonScriptStep, Workspace
from headrace.sdk.local import LocalBackend
from headrace.sdk.resident import ResidentBackend


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_scripts_runs_go_to_the_servers_agent(tmp_path, start_cli_server, write_scripts, workers):
    home = tmp_path / "home"
    start_cli_server(home, "--workers", workers, "--no-scheduler")
    ws = Workspace(home)
    assert isinstance(ws._backend, ResidentBackend)
    src = write_scripts({"hello.py": "print('hello from the server agent')\n"})
    step = PythonScriptStep(name="hello", script_name="hello.py", source_directory=src)
    run = Experiment(ws, "resident-server").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert "hello from the server agent" in run.find_step_run("hello")[0].get_stdout_log()


def test_no_listen_leaves_scripts_to_their_own_agent(tmp_path, start_cli_server):
    home = tmp_path / "home"
    start_cli_server(home, "--no-listen", "--no-scheduler")
    assert isinstance(Workspace(home)._backend, LocalBackend)
