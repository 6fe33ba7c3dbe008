"""``headrace connection create|list|show|delete``.

The key on stdin and the console-script error line are checked in real ``python -m headrace`` subprocesses;
the other commands through click's runner (same process), to keep the test fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headrace.cli.main import app

KEY = "sk-cli-SECRET-value-9876"


def headrace(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HEADRACE_HOME": str(home), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "headrace", "connection", *args], input=stdin,
                            capture_output=True, text=True, env=env, timeout=120)
    assert KEY not in result.stdout and KEY not in result.stderr  # never printed, whatever happened
    return result


@pytest.fixture
def cli(tmp_path: Path):
    """``cli("list", "--json", expect=0, stdin=None)``: the connection commands on ``tmp_path/home``."""
    runner = CliRunner(env={"COLUMNS": "200"})

    def invoke(*args: str, expect: int = 0, stdin: str | None = None):
        result = runner.invoke(app, ["connection", *args, "--home", str(tmp_path / "home")], input=stdin)
        assert result.exit_code == expect, (result.output, result.exception)
        assert KEY not in result.output and KEY not in repr(result.exception)
        return result

    return invoke


def test_key_from_stdin_is_stored_encrypted_and_never_printed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = headrace(home, "create", "llm", "--type", "openai", "--base-url", "http://127.0.0.1:8000/v1",
                       "--api-key", "-", "--context-size", "16385", "--model", "gpt-35-turbo", stdin=KEY + "\n")
    assert created.returncode == 0, created.stderr
    assert "key stored (encrypted)" in created.stdout
    rows = json.loads(headrace(home, "list", "--json").stdout)
    assert [(r["name"], r["type"], r["has_api_key"], r["context_size"]) for r in rows] == [
        ("llm", "openai", True, 16385)]
    assert "api_key" not in rows[0]
    # Nothing in the home holds the key in clear: not the database, its WAL, nor any other file.
    assert [p for p in home.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()] == []

    bad = headrace(home, "create", "aoai", "--type", "azure_openai", "--base-url", "r.openai.azure.com",
                   "--api-key", KEY)
    assert bad.returncode == 1
    assert "base_url 'r.openai.azure.com'" in bad.stderr and "api_version" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_list_show_replace_delete(cli) -> None:
    azure = cli("create", "aoai", "--type", "azure_openai", "--base-url", "https://r.openai.azure.com",
                "--api-key", KEY, "--api-version", "2024-10-21", "--json")
    assert json.loads(azure.stdout)["has_api_key"] is True
    cli("create", "local", "--type", "local", "--base-url", "http://127.0.0.1:8012/v1", "--context-size", "4096")
    table = cli("list").stdout
    assert "aoai" in table and "azure_openai" in table and "stored" in table and "4096" in table
    assert "api-version 2024-10-21" in cli("show", "aoai").stdout
    assert json.loads(cli("show", "local", "--json").stdout)["has_api_key"] is False

    assert "already exists" in str(cli("create", "local", "--type", "openai", "--base-url", "http://x/v1",
                                       expect=1).exception)
    assert "llm: openai" not in cli("create", "local", "--type", "openai", "--base-url", "http://x/v1", "--api-key",
                                    "-", "--replace", stdin=KEY + "\n").stdout
    assert json.loads(cli("show", "local", "--json").stdout)["type"] == "openai"

    assert "deleted connection 'aoai'" in cli("delete", "aoai").stdout
    assert [r["name"] for r in json.loads(cli("list", "--json").stdout)] == ["local"]
    assert "connection 'aoai' not found; known: local" in str(cli("delete", "aoai", expect=1).exception)
    assert "standard input" in str(cli("create", "x", "--type", "openai", "--base-url", "http://x/v1",
                                       "--api-key", "-", stdin="", expect=1).exception)
