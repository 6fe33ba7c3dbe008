"""What only a remote workspace has: finding the server from config, tokens, an unreachable server."""

from __future__ import annotations

import json
import socket

import pytest

from headrace import Experiment, PipelineRun, PublishedPipeline, Workspace
from headrace.errors import AccessDeniedError, AuthError, ConfigError, HeadraceError, ServerUnavailableError

from .scripts import one_step


def test_from_config_env_and_file_give_a_remote_workspace(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HEADRACE_URL", server.url)
    monkeypatch.setenv("HEADRACE_TOKEN", server.tokens["reader"])
    ws = Workspace.from_config()
    assert ws.is_remote and ws.url == server.url and ws.home is None
    assert repr(ws) == f"Workspace(url={server.url!r})"
    assert ws.get_default_datastore().name == "workspaceblobstore"

    monkeypatch.delenv("HEADRACE_URL")
    monkeypatch.delenv("HEADRACE_TOKEN")
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"url": server.url + "/",
                                                                      "token": server.tokens["admin"]}))
    ws = Workspace.from_config()
    assert ws.url == server.url
    assert PublishedPipeline.list(ws) == []

    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"url": "ftp://nowhere"}))
    with pytest.raises(ConfigError, match="http://127.0.0.1:8765"):
        Workspace.from_config()
    with pytest.raises(ConfigError, match="not both"):
        Workspace(tmp_path / "home", url=server.url)


def test_a_bad_token_gives_a_clear_auth_error(server):
    ws = Workspace(url=server.url, token="hr_not-a-real-token")
    with pytest.raises(AuthError, match="unknown or revoked token") as info:
        ws.get_default_datastore()
    assert server.url in str(info.value) and "HEADRACE_TOKEN" in str(info.value)
    assert info.value.status == 401
    with pytest.raises(AuthError, match="missing token"):
        PipelineRun.get(Workspace(url=server.url), "some-run")


def test_a_reader_token_cannot_submit(server, scripts):
    ws = Workspace(url=server.url, token=server.tokens["reader"])
    assert ws.get_default_datastore().name == "workspaceblobstore"  # reading is fine
    assert list(Experiment(ws, "Denied").get_runs()) == []  # Experiment(ws, name) cannot create it, and reads
    with pytest.raises(AccessDeniedError, match="needs the submitter role") as info:
        Experiment(ws, "Denied").submit(one_step(ws, scripts, "fail.py"))
    assert info.value.status == 403 and isinstance(info.value, AuthError)


def test_a_server_that_is_down_gives_a_clear_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once closed
    ws = Workspace(url=url, token="hr_x")
    with pytest.raises(ServerUnavailableError) as info:
        PipelineRun.get(ws, "some-run")
    message = str(info.value)
    assert url in message and "headrace server" in message
    assert isinstance(info.value, HeadraceError) and info.value.__cause__ is not None
    with pytest.raises(ConfigError, match="invalid server URL"):
        Workspace(url="localhost:8765")
