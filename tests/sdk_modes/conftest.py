"""The SDK suite runs twice: on an embedded workspace and on a remote one talking to a live server.

- ``ws`` (parametrized ``local`` / ``remote``): ``local`` is ``Workspace(tmp_path / "home")``;
  ``remote`` is ``Workspace(url=..., token=...)`` on a REAL uvicorn serving ``create_app`` in a thread
  on a free loopback port, over a fresh home with its in-process agent and an admin token.
- ``server``: that running server alone (its URL, services and a token per role), for tests of what
  only a remote workspace has (auth errors).
- ``scripts``: the step scripts of the suite in ``tmp_path/scripts`` (see ``scripts.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from headrace import Workspace
from headrace.config import load_settings
from headrace.server.app import create_app
from headrace.services import runs, tokens
from headrace.services.bundle import Services
from headrace.wiring import build_agent, build_services
from processes import stop

from .scripts import SCRIPTS


@dataclass
class Server:
    url: str
    svc: Services
    tokens: dict[str, str]


@pytest.fixture
def server(tmp_path: Path, serve_app) -> Iterator[Server]:
    svc = build_services(load_settings(home=tmp_path / "server-home"))
    agent = build_agent(svc)
    app = create_app(svc, agent=agent, shutdown_grace_seconds=20)
    secrets = {role: tokens.create_token(svc, role, name=f"{role}-test")[0] for role in ("reader", "submitter", "admin")}
    with serve_app(app) as url:
        try:
            yield Server(url=url, svc=svc, tokens=secrets)
        finally:
            for run in svc.store.list_runs(limit=1000)[0]:  # leftovers must not hold up the shutdown
                if not run.status.is_terminal:
                    runs.cancel_run(svc, run.id)
                    agent.cancel(run.id)
        svc.store.close()


# HEADRACE_TEST_RESIDENT=1 adds a third mode, ``resident``: an embedded workspace whose home a real ``headrace agent``
# subprocess serves, so the script's calls go through the agent's socket (off by default: it adds minutes to CI;
# tests/integration/test_resident_agent.py covers the socket itself).
MODES = ["local", "remote"] + (["resident"] if os.environ.get("HEADRACE_TEST_RESIDENT") == "1" else [])


@pytest.fixture(params=MODES)
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "local":
        yield Workspace(tmp_path / "home")
        return
    if request.param == "resident":
        yield from _resident_workspace(tmp_path / "home")
        return
    live: Server = request.getfixturevalue("server")
    workspace = Workspace(url=live.url, token=live.tokens["admin"])
    try:
        yield workspace
    finally:
        workspace._backend.close()


def _resident_workspace(home: Path) -> Iterator[Workspace]:
    from headrace.local_socket import socket_path
    from headrace.sdk.resident import ResidentBackend

    log = open(home.with_name("agent.log"), "wb")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if k != "HEADRACE_RESIDENT"}
    agent = subprocess.Popen([sys.executable, "-m", "headrace", "agent", "--home", str(home)], stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 30
        while not socket_path(home.resolve()).exists():
            assert agent.poll() is None and time.monotonic() < deadline, home.with_name("agent.log").read_text()
            time.sleep(0.05)
        workspace = Workspace(home)
        assert isinstance(workspace._backend, ResidentBackend)
        yield workspace
    finally:
        stop(agent, timeout=30)
        log.close()


@pytest.fixture
def scripts(write_scripts) -> Path:
    return write_scripts(SCRIPTS, name="scripts")
