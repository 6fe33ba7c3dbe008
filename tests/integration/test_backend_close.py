"""An embedded workspace's backend stops everything it started when closed: a long-lived process (a
notebook kernel, a test run) that opens many homes must not keep a dispatcher thread per home."""

from __future__ import annotations

import threading

from headrace import Experiment, Pipeline, PythonScriptStep
from headrace.sdk.local import _backends


def _dispatchers() -> int:
    return sum(t.name == "headrace-events" and t.is_alive() for t in threading.enumerate())


def test_closing_a_backend_stops_its_agent_and_events_dispatcher(make_workspace, write_scripts) -> None:
    before = _dispatchers()
    ws = make_workspace()
    folder = write_scripts({"hello.py": "print('hi')\n"})
    run = Experiment(ws, "close").submit(Pipeline(workspace=ws, steps=[
        PythonScriptStep(name="hello", script_name="hello.py", source_directory=folder)]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    backend = ws._backend
    assert _dispatchers() == before + 1 and backend._agent is not None

    backend.close()
    assert _dispatchers() == before
    assert backend._agent is None and backend not in _backends.values()
