"""Connections: the pure model, environment overrides, and the encrypted store of a workspace."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fake_llm import FakeLLM

from headrace.errors import AlreadyExistsError, ConfigError, NotFoundError
from headrace.flows.connections import Connection, apply_env_overrides, connection_from_env, env_prefix
from headrace.flows.llm_node import LLMCall
from headrace.flows.templates import render_chat
from headrace.services import connections

KEY = "sk-proj-THIS-IS-THE-SECRET-4242"


# -- the pure model --------------------------------------------------------------------------------
def test_every_problem_is_listed_at_once() -> None:
    conn = Connection("bad name", "anthropic", "ftp://x", context_size=0)
    assert len(conn.problems()) == 4
    with pytest.raises(ConfigError) as info:
        conn.validate()
    for part in ("name 'bad name'", "type 'anthropic'", "base_url 'ftp://x'", "context_size 0"):
        assert part in str(info.value)
    azure = Connection("aoai", "azure_openai", "https://x.openai.azure.com", "k")
    assert azure.problems() == ["api_version: azure_openai connections need one (e.g. 2024-10-21)"]
    assert Connection("llm", "local", "http://127.0.0.1:8012/v1").validate().api_key == ""


def test_repr_never_shows_the_key() -> None:
    assert KEY not in repr(Connection("llm", "openai", "https://api.openai.com/v1", KEY))


def test_env_overrides() -> None:
    conn = Connection("my-llm.prod", "openai", "https://api.openai.com/v1", "stored")
    prefix = env_prefix("my-llm.prod")
    assert prefix == "HEADRACE_CONNECTION_MY_LLM_PROD_"
    assert apply_env_overrides(conn, {}) is conn
    changed = apply_env_overrides(conn, {prefix + "BASE_URL": "http://127.0.0.1:8000/v1", prefix + "API_KEY": "env",
                                         prefix + "CONTEXT_SIZE": "4096", prefix + "MODEL": "llama3",
                                         prefix + "API_VERSION": "", "HEADRACE_CONNECTION_OTHER_API_KEY": "no"})
    assert (changed.base_url, changed.api_key, changed.context_size, changed.model, changed.api_version) == (
        "http://127.0.0.1:8000/v1", "env", 4096, "llama3", None)
    with pytest.raises(ConfigError, match="CONTEXT_SIZE='big'"):
        apply_env_overrides(conn, {prefix + "CONTEXT_SIZE": "big"})
    with pytest.raises(ConfigError, match="base_url"):
        apply_env_overrides(conn, {prefix + "BASE_URL": "not a url"})


def test_connection_from_env() -> None:
    assert connection_from_env("llm", {"HEADRACE_CONNECTION_LLM_API_KEY": "k"}) is None
    conn = connection_from_env("llm", {"HEADRACE_CONNECTION_LLM_BASE_URL": "https://r.openai.azure.com",
                                       "HEADRACE_CONNECTION_LLM_TYPE": "azure_openai",
                                       "HEADRACE_CONNECTION_LLM_API_VERSION": "2024-10-21",
                                       "HEADRACE_CONNECTION_LLM_API_KEY": "k"})
    assert (conn.type, conn.api_version, conn.api_key) == ("azure_openai", "2024-10-21", "k")


# -- stored connections ----------------------------------------------------------------------------
@pytest.fixture
def svc(workspace):
    return workspace._backend.svc


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_keys_are_stored_encrypted(svc) -> None:
    view = connections.create_connection(svc, "llm", type="openai", base_url="https://api.openai.com/v1",
                                         api_key=KEY, context_size=128_000)
    assert view.has_api_key and not hasattr(view, "api_key") and KEY not in repr(view)
    with sqlite3.connect(svc.home / "headrace.db") as db:
        secret, = db.execute("SELECT secret FROM connections WHERE name = 'llm'").fetchone()
    assert secret.startswith("gAAAA") and KEY not in secret  # a Fernet token
    assert _files_containing(svc.home, KEY.encode()) == []  # the database, its WAL, anything in the home
    key_file = svc.home / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Fernet(key_file.read_bytes()).decrypt(secret.encode()).decode() == KEY
    assert connections.load_connection(svc, "llm").api_key == KEY


def test_list_and_get_never_return_keys(svc) -> None:
    connections.create_connection(svc, "b", type="openai", base_url="http://127.0.0.1:8000/v1", api_key=KEY)
    connections.create_connection(svc, "a", type="local", base_url="http://127.0.0.1:8012/v1")
    views = connections.list_connections(svc)
    assert [(v.name, v.has_api_key) for v in views] == [("a", False), ("b", True)]
    assert KEY not in repr(views) and KEY not in repr([v.as_dict() for v in views])
    assert "api_key" not in connections.get_connection(svc, "b").as_dict()


def test_duplicates_replace_and_delete(svc) -> None:
    connections.create_connection(svc, "llm", type="openai", base_url="http://127.0.0.1:8000/v1", api_key="one")
    with pytest.raises(AlreadyExistsError):
        connections.create_connection(svc, "llm", type="openai", base_url="http://127.0.0.1:8000/v1")
    connections.create_connection(svc, "llm", type="azure_openai", base_url="https://r.openai.azure.com",
                                  api_key="two", api_version="2024-10-21", replace=True)
    loaded = connections.load_connection(svc, "llm")
    assert (loaded.type, loaded.api_key, loaded.api_version) == ("azure_openai", "two", "2024-10-21")
    connections.delete_connection(svc, "llm")
    with pytest.raises(NotFoundError, match="headrace connection create"):
        connections.get_connection(svc, "llm")
    with pytest.raises(NotFoundError):
        connections.delete_connection(svc, "llm")


def test_invalid_connections_are_refused_before_storing(svc) -> None:
    with pytest.raises(ConfigError, match="api_version"):
        connections.create_connection(svc, "aoai", type="azure_openai", base_url="https://r.openai.azure.com")
    assert connections.list_connections(svc) == []


def test_the_secret_key_can_come_from_the_environment(svc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_SECRET_KEY", Fernet.generate_key().decode())
    connections.create_connection(svc, "llm", type="openai", base_url="http://127.0.0.1:8000/v1", api_key=KEY)
    assert not (svc.home / "secret.key").exists()
    assert connections.load_connection(svc, "llm").api_key == KEY
    monkeypatch.setenv("HEADRACE_SECRET_KEY", Fernet.generate_key().decode())  # another key: cannot decrypt
    with pytest.raises(ConfigError, match="cannot decrypt the API key of connection 'llm'"):
        connections.load_connection(svc, "llm")
    monkeypatch.setenv("HEADRACE_SECRET_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="HEADRACE_SECRET_KEY is not a Fernet key"):
        connections.load_connection(svc, "llm")


def test_the_workspace_runner_calls_with_the_stored_key(svc, fake_llm: FakeLLM) -> None:
    connections.create_connection(svc, "llm", type="openai", base_url=fake_llm.base_url, api_key=KEY)
    runner = connections.llm_runner(svc, environ={})
    messages = render_chat("# user:\nHi", {}, origin="t")
    result = asyncio.run(runner.run(LLMCall("n", messages, "llm", {"model": "gpt-4o-mini"})))
    assert result.output == "echo: Hi"
    assert fake_llm.last.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(result.trace)
    with pytest.raises(NotFoundError, match="known: llm"):
        asyncio.run(runner.run(LLMCall("n", messages, "other", {"model": "gpt-4o-mini"})))


def test_a_custom_connection_keeps_configs_plain_and_secrets_encrypted(svc) -> None:
    view = connections.create_connection(svc, "search", type="custom", base_url="",
                                         extra={"configs": {"endpoint": "https://search.example"}},
                                         secrets={"key": KEY})
    assert view.has_api_key and KEY not in repr(view.as_dict())
    assert _files_containing(svc.home, KEY.encode()) == []
    conn = connections.load_connection(svc, "search")
    assert conn.secrets == {"key": KEY} and conn.extra["configs"] == {"endpoint": "https://search.example"}
    assert KEY not in repr(conn)
    with pytest.raises(ConfigError, match="only custom connections have secrets"):
        connections.create_connection(svc, "x", type="openai", base_url="http://127.0.0.1:1/v1", secrets={"a": "b"})


def test_the_cli_creates_a_custom_connection_with_a_secret_from_stdin(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    headrace = str(Path(sys.executable).with_name("headrace"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    home = tmp_path / "home"
    done = subprocess.run([headrace, "connection", "create", "search", "--type", "custom", "--config",
                           "endpoint=https://s.example", "--secret", "key=-", "--home", str(home), "--json"],
                          input=KEY + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout and '"endpoint": "https://s.example"' in done.stdout
    from headrace import Workspace

    conn = connections.load_connection(Workspace(home)._backend.svc, "search")
    assert conn.secrets == {"key": KEY}
