"""``headrace environment``: register from a requirements file, list, show and build, in tables and JSON."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from environments.wheels import make_wheel
from headrace.cli.main import app


def test_register_list_show_build(workspace, tmp_path):
    make_wheel(tmp_path / "wheels", "hrtoy", "1.0")
    req = tmp_path / "requirements.txt"
    req.write_text("hrtoy==1.0\n--no-index\n--find-links wheels\n")
    bad = tmp_path / "bad.txt"
    bad.write_text("hrtoy==5.0\n--no-index\n--find-links wheels\n")
    runner = CliRunner(env={"COLUMNS": "200"})

    def cli(*args: str, expect: int = 0) -> str:
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result.output + (str(result.exception) if result.exception else "")

    assert "environment 'toy' version 1" in cli("environment", "register", "toy", "--pip-requirements", str(req))
    assert "version 1" in cli("environment", "register", "toy", "-r", str(req))  # same content
    assert json.loads(cli("environment", "register", "toy", "-r", str(bad), "--json")) == {"name": "toy", "version": 2}
    listed = json.loads(cli("environment", "list", "--json"))
    assert [(e["name"], e["version"]) for e in listed] == [("toy", 2)]
    assert len(json.loads(cli("environment", "list", "--all-versions", "--json"))) == 2
    assert "hrtoy==5.0" in cli("environment", "list")
    shown = cli("environment", "show", "toy", "--version", "1")
    assert "toy version 1" in shown and "pip: hrtoy==1.0" in shown and f"--find-links {tmp_path / 'wheels'}" in shown
    built = cli("environment", "build", "toy", "--version", "1")
    assert "building with uv-venv" in built and "environment 'toy' version 1 is ready" in built
    again = json.loads(cli("environment", "build", "toy", "--version", "1", "--json"))
    assert again["version"] == 1 and not any("building" in line for line in again["log"])
    failed = cli("environment", "build", "toy", expect=1)
    assert "building the environment failed" in failed and "hrtoy==5.0" in failed
    assert "its versions: 1, 2" in cli("environment", "show", "toy", "--version", "3", expect=1)
