"""Server fixtures: a REAL uvicorn serving ``create_app`` in a thread on a free loopback port.

- ``live``: the running server over a fresh home in ``tmp_path`` (SQLite, in-process agent), with a
  token of each role and ``live.client(role)`` httpx clients. Its step script ``echo.py`` writes what
  it received to ``signals/<tag>.json``, so tests assert what the step actually saw.
- ``published``: a published pipeline of one ``echo`` step with parameters ``pipeline_arg`` (int),
  ``tag`` (str), ``use_flag`` (bool), ``wait_for`` (str: a signal file to wait for) and
  ``input_data`` (datapath, default ``workspaceblobstore:raw/data.csv``). Each execution appends its pid to
  ``signals/<tag>.started`` first.
- ``free_port``, ``start_cli_server``: for tests of the ``headrace server`` process itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_browser import browser, page, phone  # noqa: F401  (browser fixtures for the UI tests)

from headrace import DataPath, Pipeline, PipelineParameter, PythonScriptStep
from headrace.config import load_settings
from headrace.server.app import create_app
from headrace.services import datastores, publishing, runs, tokens
from headrace.services.bundle import Services
from headrace.wiring import build_agent, build_services

ECHO = r'''
import argparse, json, os, sys, time
from headrace import Run

p = argparse.ArgumentParser()
p.add_argument("--tag"); p.add_argument("--n", type=int); p.add_argument("--flag"); p.add_argument("--input")
p.add_argument("--dir"); p.add_argument("--wait-for")
a = p.parse_args()
with open(os.path.join(a.dir, a.tag + ".started"), "a") as f:
    f.write(f"{os.getpid()}\n")
if a.wait_for != "none":
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(a.dir, a.wait_for)) and time.monotonic() < deadline:
        time.sleep(0.02)
content = open(a.input).read() if os.path.isfile(a.input) else sorted(os.listdir(a.input))
print("echo", a.tag, a.n)
print("line 2")
print("line 3")
print("echo stderr", file=sys.stderr)
run = Run.get_context()
run.log("n", a.n)
run.log("loss", 0.5)
run.log("loss", 0.25)
run.parent.log("pipeline_n", a.n)
out = os.path.join(a.dir, a.tag + ".json")
with open(out + ".tmp", "w") as f:
    json.dump({"tag": a.tag, "n": a.n, "flag": a.flag, "input": a.input, "content": content,
               "pid": os.getpid()}, f)
os.replace(out + ".tmp", out)
'''


@dataclass
class Live:
    """A running server: its URL, services, signals folder and one token per role."""

    url: str
    svc: Services
    signals: Path
    tokens: dict[str, str]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: str | None = "admin", **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        c = httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30, **kwargs)
        self.clients.append(c)
        return c

    def wait_run(self, run_id: str, timeout: float = 30) -> dict[str, Any]:
        """Poll ``GET /runs/{id}`` until the run ends; returns its body."""
        c = self.client("reader")
        deadline = time.monotonic() + timeout
        while True:
            body = c.get(f"/runs/{run_id}").json()
            if body["Status"] in ("Finished", "Failed", "Canceled"):
                return body
            if time.monotonic() > deadline:
                pytest.fail(f"run {run_id} still {body['Status']} after {timeout}s")
            time.sleep(0.05)

    def seen(self, tag: str, timeout: float = 30) -> dict[str, Any]:
        """What the echo step with this ``tag`` received (waits for its signal file)."""
        path = self.signals / f"{tag}.json"
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"no step wrote {path.name} within {timeout}s")
            time.sleep(0.05)
        return json.loads(path.read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_services(home: Path) -> Services:
    """Services over a fresh home, with ``raw/data.csv`` in the default datastore."""
    svc = build_services(load_settings(home=home))
    datastores.get_datastore(svc, "workspaceblobstore").write_bytes("raw/data.csv", b"a,b\n1,2\n")
    return svc


@pytest.fixture
def make_services() -> Callable[[Path], Services]:
    """``make_services(home)``: see ``new_services`` (the caller closes ``svc.store``)."""
    return new_services


@pytest.fixture
def signals(tmp_path: Path) -> Path:
    folder = tmp_path / "signals"
    folder.mkdir()
    return folder


@pytest.fixture
def live(tmp_path: Path, signals: Path, serve_app) -> Iterator[Live]:
    svc = new_services(tmp_path / "home")
    # A long poll interval: runs only start promptly if submitting wakes the agent (no polling delay).
    agent = build_agent(svc, poll_seconds=60, lease_seconds=600)
    app = create_app(svc, agent=agent, shutdown_grace_seconds=20)
    secrets = {role: tokens.create_token(svc, role, name=f"{role}-test")[0] for role in ("reader", "submitter", "admin")}
    with serve_app(app) as url:
        state = Live(url=url, svc=svc, signals=signals, tokens=secrets)
        try:
            yield state
        finally:
            for c in state.clients:
                c.close()
            _cancel_unfinished(svc, agent)
    svc.store.close()


def _cancel_unfinished(svc: Services, agent: Any) -> None:
    """Runs a test left behind are canceled, so stopping the server does not wait on them."""
    for run in svc.store.list_runs(limit=1000)[0]:
        if not run.status.is_terminal:
            runs.cancel_run(svc, run.id)
            agent.cancel(run.id)


@pytest.fixture
def echo_pipeline(write_scripts, signals: Path) -> Callable[..., Pipeline]:
    """``echo_pipeline(default_n=10)``: the one-step pipeline described in the module docstring."""
    scripts = write_scripts({"echo.py": ECHO}, name="echo")

    def make(default_n: int = 10) -> Pipeline:
        n = PipelineParameter(name="pipeline_arg", default_value=default_n)
        tag = PipelineParameter(name="tag", default_value="default")
        flag = PipelineParameter(name="use_flag", default_value=False)
        wait = PipelineParameter(name="wait_for", default_value="none")
        data = PipelineParameter(name="input_data", default_value=DataPath("workspaceblobstore", "raw/data.csv"))
        step = PythonScriptStep(
            name="echo", script_name="echo.py", source_directory=scripts, allow_reuse=False, inputs=[data],
            arguments=["--tag", tag, "--n", n, "--flag", flag, "--input", data, "--dir", str(signals),
                       "--wait-for", wait],
        )
        return Pipeline(workspace=None, steps=[step])

    return make


@pytest.fixture
def published(live: Live, echo_pipeline) -> str:
    """The id of a published echo pipeline on ``live``."""
    record = publishing.publish_pipeline(live.svc, echo_pipeline(), name="echo", version="1.0")
    return record.id


@pytest.fixture
def start_cli_server(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, str]]]:
    """``start_cli_server(home, *args, env=None)``: ``python -m headrace server`` on a free port, once healthy.

    Returns (process, base URL). Every process started is killed at the end of the test.
    """
    procs: list[subprocess.Popen] = []

    def start(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
        port = free_port()
        log = open(tmp_path / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "headrace", "server", "--home", str(home), "--port", str(port), *args],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
        log.close()
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {(tmp_path / f'server-{port}.log').read_text()}")
            time.sleep(0.05)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
