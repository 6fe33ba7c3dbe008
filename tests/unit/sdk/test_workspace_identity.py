"""Azure ML's workspace identity: name, ids, location, details, and opening a workspace by name."""

from __future__ import annotations

import json
import os

import pytest

import headrace
from headrace.errors import ConfigError
from headrace.sdk.workspace import Workspace


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("HEADRACE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_version_is_headrace_version():
    assert headrace.VERSION == headrace.__version__ and "VERSION" in headrace.__all__


def test_local_workspace_name_is_the_project_folder_not_a_path(tmp_path):
    (tmp_path / "proj").mkdir()
    os.chdir(tmp_path / "proj")
    ws = Workspace.from_config()
    assert ws.name == "proj"
    assert (ws.subscription_id, ws.resource_group, ws.location) == (
        "00000000-0000-0000-0000-000000000000", "headrace", "local")
    details = ws.get_details()
    assert details["name"] == "proj" and details["location"] == "local"
    assert details["id"].endswith("/workspaces/proj") and details["home"] == str(ws.home)


def test_azure_config_json_in_the_folder_is_read_and_keeps_the_home_out_of_the_project(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"subscription_id": "sub-1", "resource_group": "rg-1", "workspace_name": "ml-ws"}))
    ws = Workspace.from_config()
    assert (ws.name, ws.subscription_id, ws.resource_group) == ("ml-ws", "sub-1", "rg-1")
    assert ws.home == (tmp_path / ".headrace").resolve()
    assert not (tmp_path / "headrace.db").exists()


def test_dot_azureml_config_is_found_from_a_sub_folder(tmp_path):
    (tmp_path / ".azureml").mkdir()
    (tmp_path / ".azureml" / "config.json").write_text(json.dumps({"workspace_name": "w", "location": "westeurope"}))
    (tmp_path / "nb").mkdir()
    os.chdir(tmp_path / "nb")
    ws = Workspace.from_config()
    assert (ws.name, ws.location) == ("w", "westeurope")
    assert ws.home == (tmp_path / ".headrace").resolve()


def test_workspace_by_name_maps_onto_configured_homes(tmp_path):
    (tmp_path / ".headrace").mkdir()
    (tmp_path / ".headrace" / "config.json").write_text(json.dumps({
        "workspaces": {"team-a": {"home": "../homes/a"}, "team-b": {"home": str(tmp_path / "homes" / "b")}}}))
    a = Workspace("sub", "rg", "team-a")
    assert a.home == (tmp_path / "homes" / "a").resolve()
    assert (a.name, a.subscription_id, a.resource_group) == ("team-a", "sub", "rg")
    b = Workspace.get("team-b")
    assert b.home == (tmp_path / "homes" / "b").resolve() and b.name == "team-b"
    with pytest.raises(ConfigError, match="no workspace named 'team-c'.*team-a, team-b"):
        Workspace.get("team-c")


def test_workspace_by_name_can_be_a_server(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({
        "workspace_name": "local-one", "workspaces": {"prod": {"url": "http://h:8765", "token": "t"}}}))
    ws = Workspace.get("prod", subscription_id="s", resource_group="g")
    assert ws.is_remote and ws.url == "http://h:8765" and ws.name == "prod"
    assert Workspace.get("local-one").home == (tmp_path / ".headrace").resolve()


def test_no_config_names_the_search(tmp_path):
    with pytest.raises(ConfigError, match="no config file found"):
        Workspace.get("anything")


def test_positional_home_still_works(tmp_path):
    ws = Workspace(tmp_path / "h")
    assert ws.home == (tmp_path / "h").resolve() and ws.name == "h"


def test_another_tools_config_json_is_passed_over(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"editor.fontSize": 12}))
    ws = Workspace.from_config()
    assert ws.home == (tmp_path / ".headrace").resolve() and ws.subscription_id.startswith("0000")
    (tmp_path / "config.json").write_text("[1, 2]")
    assert Workspace.from_config().name == tmp_path.name
