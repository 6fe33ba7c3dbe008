"""The SDK suite runs twice: on an embedded workspace and on a remote one talking to a live server.

- ``ws`` (parametrized ``local`` / ``remote``): ``local`` is ``Workspace(tmp_path / "home")``;
  ``remote`` is ``Workspace(url=..., token=...)`` on a REAL uvicorn serving ``create_app`` in a thread
  on a free loopback port, over a fresh home with its in-process agent and an admin token.
- ``server``: that running server alone (its URL, services and a token per role), for tests of what
  only a remote workspace has (auth errors).
- ``scripts``: the step scripts of the suite in ``tmp_path/scripts`` (see ``scripts.py``).
"""

from __future__ import annotations

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


@pytest.fixture(params=["local", "remote"])
def ws(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    if request.param == "local":
        yield Workspace(tmp_path / "home")
        return
    live: Server = request.getfixturevalue("server")
    workspace = Workspace(url=live.url, token=live.tokens["admin"])
    try:
        yield workspace
    finally:
        workspace._backend.close()


@pytest.fixture
def scripts(write_scripts) -> Path:
    return write_scripts(SCRIPTS, name="scripts")
