"""MLflow's tracking REST API on a real server, driven by the real ``mlflow`` client (docs/runs.md "MLflow").

Notebook-style logging runs in a subprocess (the fluent API keeps process-wide state), with
``MLFLOW_TRACKING_URI`` = the server and ``MLFLOW_TRACKING_TOKEN`` = a headrace token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mlflow", reason="mlflow-skinny is in the dev extras")  # never skipped in CI: installed there

NOTEBOOK = textwrap.dedent('''
    import json, mlflow
    mlflow.set_experiment("mlflow-notebook")
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"layers": 3, "opt": "adam"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.set_tag("team", "blue")
        with open("notes.txt", "w") as f:
            f.write("hello artifacts")
        mlflow.log_artifact("notes.txt")
        mlflow.log_artifact("notes.txt", artifact_path="more/deep")
    client = mlflow.MlflowClient()
    got = client.get_run(run.info.run_id)
    history = client.get_metric_history(run.info.run_id, "loss")
    files = [f.path for f in client.list_artifacts(run.info.run_id)]
    deep = [f.path for f in client.list_artifacts(run.info.run_id, "more")]
    local = client.download_artifacts(run.info.run_id, "notes.txt", ".")
    found = client.search_runs([run.info.experiment_id], "tags.team = 'blue'")
    json.dump({"run_id": run.info.run_id, "status": got.info.status, "params": got.data.params,
               "metrics": got.data.metrics, "tags": got.data.tags,
               "history": [(m.step, m.value) for m in history], "files": files, "deep": deep,
               "downloaded": open(local).read(), "found": [r.info.run_id for r in found],
               "missing": mlflow.get_experiment_by_name("no such experiment") is None}, open("out.json", "w"))
''')


def run_client(tmp_path: Path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "client.py"
    script.write_text(code)
    full = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**full, **env}, capture_output=True,
                          text=True, timeout=120)


def test_notebook_logging_through_the_server_lands_on_a_headrace_run(live, tmp_path):
    done = run_client(tmp_path, NOTEBOOK, {"MLFLOW_TRACKING_URI": live.url,
                                           "MLFLOW_TRACKING_TOKEN": live.tokens["submitter"]})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["status"] == "FINISHED" and out["missing"] is True
    assert out["params"] == {"lr": "0.1", "layers": "3", "opt": "adam"}
    assert out["metrics"] == {"loss": pytest.approx(1 / 3), "acc": 0.9, "f1": 0.8}
    assert out["tags"]["team"] == "blue" and out["tags"]["mlflow.runName"] == "first"
    assert out["history"] == [[0, 1.0], [1, 0.5], [2, pytest.approx(1 / 3)]]
    assert out["files"] == ["more", "notes.txt"] and out["deep"] == ["more/deep"]
    assert out["downloaded"] == "hello artifacts" and out["found"] == [out["run_id"]]
    # The same run, as headrace records it.
    run = live.svc.store.get_run(out["run_id"])
    assert run.experiment_name == "mlflow-notebook" and run.status.is_terminal and run.tags["team"] == "blue"
    losses = [m for m in live.svc.store.list_metrics(run.id) if m.name == "loss"]
    assert [(m.step, m.value) for m in losses] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert run.properties["mlflow.params"]["opt"] == "adam"
    listed = live.client("reader").get("/runs", params={"experimentName": "mlflow-notebook"}).json()
    assert [r["Id"] for r in listed["Value"]] == [run.id]


def test_the_server_needs_a_token_and_a_role_that_may_log(live, tmp_path):
    code = "import mlflow\nmlflow.set_experiment('x')\n"
    refused = run_client(tmp_path, code, {"MLFLOW_TRACKING_URI": live.url})
    assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr and "missing token" in refused.stderr
    reader = run_client(tmp_path, code, {"MLFLOW_TRACKING_URI": live.url, "MLFLOW_TRACKING_TOKEN": live.tokens["reader"]})
    assert reader.returncode != 0 and "PERMISSION_DENIED" in reader.stderr and "submitter role" in reader.stderr


def test_a_param_never_changes_and_unknown_runs_are_mlflow_errors(live):
    c = live.client("submitter")
    base = live.url + "/api/2.0/mlflow"
    exp = c.post(f"{base}/experiments/create", json={"name": "params"}).json()["experiment_id"]
    again = c.post(f"{base}/experiments/create", json={"name": "params"})
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    run_id = c.post(f"{base}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    assert c.post(f"{base}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "1"}).status_code == 200
    changed = c.post(f"{base}/runs/log-parameter", json={"run_id": run_id, "key": "a", "value": "2"})
    assert changed.status_code == 400 and changed.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    missing = c.get(f"{base}/runs/get", params={"run_id": "nope"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    escape = c.put(f"{live.url}/api/2.0/mlflow-artifacts/artifacts/{run_id}/../x.txt", content=b"x")
    assert escape.status_code in (400, 404)


def test_logged_models_through_the_rest_api_and_their_errors(live):
    c = live.client("submitter")
    base = live.url + "/api/2.0/mlflow"
    exp = c.post(f"{base}/experiments/create", json={"name": "logged"}).json()["experiment_id"]
    run_id = c.post(f"{base}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    created = c.post(f"{base}/logged-models", json={"experiment_id": exp, "name": "clf", "source_run_id": run_id,
                                                    "params": [{"key": "C", "value": "1"}]})
    assert created.status_code == 200, created.text
    info = created.json()["model"]["info"]
    model_id = info["model_id"]
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["artifact_uri"].endswith(f"{model_id}/artifacts")
    put = c.put(f"{live.url}/api/2.0/mlflow-artifacts/artifacts/logged-models/{model_id}/artifacts/MLmodel",
                content=b"flavors: {}")
    assert put.status_code == 200
    listed = c.get(f"{live.url}/api/2.0/mlflow-artifacts/artifacts",
                   params={"path": f"logged-models/{model_id}/artifacts"}).json()
    assert listed["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 11}]
    done = c.patch(f"{base}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"})
    assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert c.patch(f"{base}/logged-models/{model_id}/tags", json={"tags": [{"key": "k", "value": "v"}]}).status_code == 200
    metric = {"key": "acc", "value": 0.9, "timestamp": 5, "step": 0, "model_id": model_id}
    assert c.post(f"{base}/runs/log-batch", json={"run_id": run_id, "metrics": [metric]}).status_code == 200
    found = c.post(f"{base}/logged-models/search", json={"experiment_ids": [exp], "filter": "tags.k = 'v' AND "
                                                         "metrics.acc > 0.5"}).json()["models"]
    assert [m["info"]["model_id"] for m in found] == [model_id]
    assert found[0]["data"]["metrics"][0]["value"] == 0.9
    assert c.post(f"{base}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": model_id}]}).status_code == 200

    missing = c.get(f"{base}/logged-models/m-0000")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "m-0000" in missing.json()["message"]
    bad = c.post(f"{base}/logged-models/search", json={"experiment_ids": [exp], "filter": "nonsense here"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    no_run = c.post(f"{base}/logged-models", json={"experiment_id": exp, "source_run_id": "nope"})
    assert no_run.status_code == 404 and no_run.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert c.delete(f"{base}/logged-models/{model_id}").status_code == 200
    assert c.get(f"{base}/logged-models/{model_id}").status_code == 404
    assert c.get(f"{base}/logged-models/{model_id}", params={"allow_deleted": "true"}).status_code == 200


def test_mlflow_model_registry_calls_headrace_leaves_to_its_model_api_say_so(live):
    c = live.client("submitter")
    answer = c.post(f"{live.url}/api/2.0/mlflow/registered-models/rename", json={"name": "x", "new_name": "y"})
    assert answer.status_code == 404 and answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "Model API" in answer.json()["message"]
    bad = c.post(f"{live.url}/api/2.0/mlflow/model-versions/create", json={"name": "x", "source": "s3://bucket/m"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "logged models only" in bad.json()["message"]
    missing = c.get(f"{live.url}/api/2.0/mlflow/model-versions/get", params={"name": "nope", "version": "1"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
