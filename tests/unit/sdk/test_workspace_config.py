"""Workspace.from_config: where a workspace's settings are found."""

from __future__ import annotations

import json
import os

import pytest

from headrace.errors import ConfigError
from headrace.sdk.workspace import Workspace


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("HEADRACE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_nothing_configured_uses_dot_headrace(tmp_path):
    ws = Workspace.from_config()
    assert ws.home == (tmp_path / ".headrace").resolve()
    assert (tmp_path / ".headrace" / "headrace.db").exists()
    assert ws.get_default_datastore().name == "workspaceblobstore"


def test_env_home_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "elsewhere"))
    assert Workspace.from_config().home == (tmp_path / "elsewhere").resolve()


def test_config_found_from_a_sub_folder(tmp_path, monkeypatch):
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"home": "../team-home"}))
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert Workspace.from_config().home == (tmp_path / "team-home").resolve()


def test_config_without_home_means_its_own_folder(tmp_path):
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"token": "x"}))
    assert Workspace.from_config().home == (tmp_path / ".headrace").resolve()


def test_explicit_path(tmp_path):
    cfg = tmp_path / "proj" / ".headrace" / "config.json"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(json.dumps({"home": str(tmp_path / "h2")}))
    assert Workspace.from_config(tmp_path / "proj").home == (tmp_path / "h2").resolve()
    with pytest.raises(ConfigError, match="no workspace config"):
        Workspace.from_config(tmp_path / "missing")


def test_unreadable_config_names_the_file(tmp_path):
    (tmp_path / ".headrace").mkdir()
    bad = tmp_path / ".headrace" / "config.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="config.json"):
        Workspace.from_config()


def test_remote_configs_give_a_remote_workspace(tmp_path, monkeypatch):
    """No server is contacted until a call needs one; the live-server behaviour is in tests/sdk_modes."""
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"url": "http://h:8765", "token": "t"}))
    ws = Workspace.from_config()
    assert ws.is_remote and ws.url == "http://h:8765" and ws.home is None
    assert not (tmp_path / ".headrace" / "headrace.db").exists()

    monkeypatch.setenv("HEADRACE_URL", "http://other:8765/api/v1")
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "ignored"))  # HEADRACE_URL wins
    ws = Workspace.from_config()
    assert ws.is_remote and ws.url == "http://other:8765"


def test_remote_config_without_token_takes_it_from_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"url": "http://h:8765"}))
    monkeypatch.setenv("HEADRACE_TOKEN", "hr_from_env")
    ws = Workspace.from_config()
    assert ws._backend.client._http.headers["Authorization"] == "Bearer hr_from_env"


def test_bad_remote_configs_are_refused_clearly(tmp_path):
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({"url": "h:8765", "token": "t"}))
    with pytest.raises(ConfigError, match="must be a server address"):
        Workspace.from_config()
    with pytest.raises(ConfigError, match="not both"):
        Workspace(tmp_path / "home", url="http://h:8765")
