"""``headrace run list|show|logs|wait|cancel`` on script and interactive runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from headrace import Experiment, ScriptRunConfig
from headrace.cli.main import app

TRAIN = "from headrace import Run\nrun = Run.get_context()\nrun.log('acc', 0.9)\nprint('trained')\n"


@pytest.fixture
def cli(workspace):
    runner = CliRunner(env={"COLUMNS": "200"})

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return invoke


def test_cli_shows_script_and_interactive_runs(cli, workspace, write_scripts):
    src = write_scripts({"train.py": TRAIN})
    exp = Experiment(workspace, "cli-scripts")
    script = exp.submit(ScriptRunConfig(str(src), "train.py"))
    assert cli("run", "wait", script.id).exit_code == 0  # Completed is success
    notebook = exp.start_logging()
    notebook.log("x", 1)

    listed = {r["id"]: r for r in json.loads(cli("run", "list", "--json").stdout)}
    assert listed[script.id]["kind"] == "script" and listed[script.id]["status"] == "Completed"
    assert listed[notebook.id]["kind"] == "interactive" and listed[notebook.id]["status"] == "Running"
    table = cli("run", "list").stdout
    assert "script" in table and "interactive" in table and "Completed" in table

    shown = cli("run", "show", script.id).stdout
    assert "kind script" in shown and "Completed" in shown and "acc=0.9" in shown
    assert cli("run", "logs", script.id).stdout.strip() == "trained"
    assert json.loads(cli("run", "show", notebook.id, "--json").stdout)["metrics"] == {"x": 1}

    assert "Canceled" in cli("run", "cancel", notebook.id).stdout
    assert notebook.get_status() == "Canceled"
