"""``headrace datastore`` and ``headrace dataset`` on a local home, with an S3 bucket on moto's server."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from typer.testing import CliRunner

from headrace import Dataset
from headrace.cli.main import app

S3 = os.environ.get("HEADRACE_TEST_S3_ENDPOINT")


def test_register_list_show_ls_and_unregister(workspace, tmp_path):
    if not S3:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no S3 emulator: run the tests through scripts/test.sh")
        pytest.skip("HEADRACE_TEST_S3_ENDPOINT unset (scripts/emulators.sh)")
    runner = CliRunner(env={"COLUMNS": "200"})

    def cli(*args: str, expect: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, [*args, "--home", str(workspace.home)], input=stdin)
        assert result.exit_code == expect, (result.output, result.exception)
        return result.output + (str(result.exception) if result.exception else "")

    secret = f"never-shown-{uuid.uuid4().hex}"
    bucket = f"hr-{uuid.uuid4().hex[:10]}"
    shown = json.loads(cli("datastore", "register", "lake", "--type", "s3", "--bucket", bucket, "--endpoint-url", S3,
                           "--key", "testing", "--secret", "-", "--create", "--json", stdin=secret + "\n"))
    assert shown["kind"] == "s3" and shown["root_uri"] == f"s3://{bucket}" and shown["options"]["auth"] == "key"
    (tmp_path / "a.csv").write_text("x\n1\n")
    workspace.datastores["lake"].upload_files([tmp_path / "a.csv"], target_path="in")
    assert cli("datastore", "ls", "lake", "in").strip().endswith("in/a.csv")
    listed = cli("datastore", "list", "--json")
    assert secret not in listed and {d["name"] for d in json.loads(listed)} == {"lake", "workspaceblobstore"}
    assert secret not in cli("datastore", "show", "lake")
    assert cli("datastore", "set-default", "lake").strip() == "default datastore is now lake"
    assert {d["name"]: d["default"] for d in json.loads(cli("datastore", "list", "--json"))} == {
        "lake": True, "workspaceblobstore": False}
    assert "default datastore" in cli("datastore", "unregister", "lake", expect=1)
    cli("datastore", "set-default", "workspaceblobstore")
    Dataset.File.from_files((workspace.datastores["lake"], "in/*.csv")).register(workspace, "lake-files")
    assert "lake-files v1: file, 1 file(s)" in cli("dataset", "list")
    assert cli("dataset", "files", "lake-files").split() == ["/a.csv"]
    assert json.loads(cli("dataset", "show", "lake-files", "--json"))["version"] == 1
    cli("datastore", "unregister", "lake")
    assert "not found" in cli("datastore", "show", "lake", expect=1)
    assert "cannot be unregistered" in cli("datastore", "unregister", "workspaceblobstore", expect=1)
