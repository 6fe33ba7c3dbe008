"""``headrace model ...`` on a local home: register, list, stage with history, aliases, download, delete."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from headrace.cli.main import app


def test_the_model_commands_from_register_to_delete(tmp_path: Path):
    home = tmp_path / "home"
    runner = CliRunner(env={"COLUMNS": "200"})

    def cli(*args: str, expect: int = 0) -> str:
        result = runner.invoke(app, [*args, "--home", str(home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result.stdout + (str(result.exception) if expect else "")

    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx-bytes")
    shown = json.loads(cli("model", "register", "scorer", str(model), "--tag", "team=risk", "--property", "auc=0.9",
                           "--framework", "Onnx", "--json"))
    assert (shown["id"], shown["tags"], shown["framework"]) == ("scorer:1", {"team": "risk"}, "Onnx")
    assert "registered scorer:2 (1 file(s), 10 bytes)" in cli("model", "register", "scorer", str(model))
    assert "scorer:2 is now in Production" in cli("model", "stage", "scorer", "2", "Production", "--comment", "go")
    cli("model", "stage", "scorer", "1", "Production", "--archive-existing")
    assert "unknown stage 'Live'" in cli("model", "stage", "scorer", "1", "Live", expect=1)
    listing = cli("model", "list")
    assert "scorer" in listing and "Production" in listing and "Archived" in listing
    assert [m["id"] for m in json.loads(cli("model", "list", "--latest", "--json"))] == ["scorer:2"]
    assert "scorer@champion -> 1" in cli("model", "alias", "scorer", "champion", "1")
    detail = json.loads(cli("model", "show", "scorer", "--alias", "champion", "--json"))
    assert (detail["version"], detail["stage"], detail["aliases"]) == (1, "Production", ["champion"])
    assert [(h["version"], h["from_stage"], h["to_stage"]) for h in detail["stage_history"]] == [
        (2, "None", "Production"), (1, "None", "Production"), (2, "Production", "Archived")]
    assert detail["stage_history"][0]["comment"] == "go" and detail["stage_history"][0]["changed_by"].startswith("user:")
    assert [v["stage"] for v in detail["versions"]] == ["Production", "Archived"]
    assert "v2: Production -> Archived" in cli("model", "show", "scorer")
    out = cli("model", "download", "scorer", "--version", "2", "--target", str(tmp_path / "dl")).strip()
    assert Path(out).read_bytes() == b"onnx-bytes"
    assert "already exists" in cli("model", "download", "scorer", "--version", "2", "--target", str(tmp_path / "dl"),
                                   expect=1)
    cli("model", "alias", "scorer", "champion", "--delete")
    assert "deleted scorer:1" in cli("model", "delete", "scorer", "1")
    assert [m["id"] for m in json.loads(cli("model", "list", "--json"))] == ["scorer:2"]
