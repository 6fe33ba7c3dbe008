"""``headrace compute``: an admin configures a name that scripts then provision as they please."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from headrace import AmlCompute, ComputeTarget
from headrace.cli.main import app


def test_admin_configured_target_wins_over_provisioning(workspace):
    runner = CliRunner(env={"COLUMNS": "200"})

    def cli(*args: str, expect: int = 0) -> str:
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result.output + (str(result.exception) if result.exception else "")

    assert "compute target 'cpu-cluster' (AmlCompute, max parallel steps: 2)" in cli(
        "compute", "create", "cpu-cluster", "--max-nodes", "2", "--vm-size", "big")
    target = ComputeTarget.create(workspace, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=8))
    assert target.max_nodes == 2
    listed = json.loads(cli("compute", "list", "--json"))
    assert [(t["name"], t["config"].get("max_nodes")) for t in listed] == [("local", None), ("cpu-cluster", 2)]
    assert "cpu-cluster" in cli("compute", "list") and "vm_size=big" in cli("compute", "list")
    cli("compute", "create", "cpu-cluster", "--max-nodes", "3", "--replace")
    assert AmlCompute(workspace, "cpu-cluster").max_nodes == 3
    assert "already exists" in cli("compute", "create", "cpu-cluster", "--type", "local", expect=1)
    cli("compute", "delete", "cpu-cluster")
    assert "not found" in cli("compute", "delete", "cpu-cluster", expect=1)
