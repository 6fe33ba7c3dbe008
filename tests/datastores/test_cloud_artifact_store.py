"""The artifact area (snapshots, logs, dataset manifests) in an object store: ``HEADRACE_ARTIFACTS_URI`` on
moto's S3 server, credentials from ``HEADRACE_ARTIFACTS_OPTIONS``; a pipeline runs with nothing of it on
the local disk but the steps' work folders."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from test_object_store_datastores import S3_ENDPOINT

from headrace import Dataset, Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace

STEP = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "hello.txt"), "w").write("hello from s3")
print("wrote it")
"""


@pytest.mark.parametrize("credentials", ["options", "environment"])
def test_a_pipeline_runs_with_its_artifacts_on_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 credentials: str) -> None:
    if not S3_ENDPOINT:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no S3 emulator: run the tests through scripts/test.sh")
        pytest.skip("HEADRACE_TEST_S3_ENDPOINT unset (scripts/emulators.sh)")
    import s3fs

    options = {"endpoint_url": S3_ENDPOINT, "key": "testing", "secret": "testing"}
    bucket = f"hr-art-{uuid.uuid4().hex[:8]}"
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir(bucket)
    monkeypatch.setenv("HEADRACE_ARTIFACTS_URI", f"s3://{bucket}/artifacts")
    if credentials == "options":
        monkeypatch.setenv("HEADRACE_ARTIFACTS_OPTIONS", json.dumps(options))
    else:  # the library's own variables, as in a deployment
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_ENDPOINT_URL", S3_ENDPOINT)
    ws = Workspace(tmp_path / "home")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hello.py").write_text(STEP)
    out = PipelineData("greeting", datastore=ws.get_default_datastore())
    step = PythonScriptStep(name="hello", script_name="hello.py", source_directory=str(tmp_path / "src"),
                            arguments=["--out", out], outputs=[out])
    run = Experiment(ws, "s3-artifacts").submit(Pipeline(workspace=ws, steps=[step]))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    [child] = list(run.get_children())
    assert "wrote it" in child.get_stdout_log()
    stored = fs.find(f"{bucket}/artifacts")
    assert any("/snapshots/" in p for p in stored), stored
    assert any(p.endswith("stdout.txt") for p in stored), stored
    assert not (tmp_path / "home" / "artifacts").exists()
    Dataset.File.from_files((ws.get_default_datastore(), "headrace/runs")).register(ws, "outputs")
    assert any("/datasets/manifests/" in p for p in fs.find(f"{bucket}/artifacts"))
