"""MLflow 3's logged models with the real ``mlflow`` client and scikit-learn, embedded and remote alike.

``mlflow.sklearn.log_model`` and ``mlflow.autolog()`` with its defaults (``log_models=True``) from a notebook
(a separate Python process pointed at the workspace) and inside a step; the model is read back by
``runs:/<run>/<name>`` and ``models:/<id>``, found by ``search_logged_models`` and listed on its run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from headrace import Run

pytest.importorskip("mlflow", reason="mlflow-skinny is in the dev extras")  # installed in CI: never skipped there
pytest.importorskip("sklearn", reason="scikit-learn is in the dev extras")

CONNECT = textwrap.dedent('''
    import json, os, sys, mlflow
    from headrace import Workspace
    if len(sys.argv) > 1:   # a notebook points MLflow at the workspace; a step needs nothing
        ws = Workspace(home=sys.argv[2]) if sys.argv[1] == "local" else Workspace(url=sys.argv[2], token=sys.argv[3])
        mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
''')

NOTEBOOK = CONNECT + textwrap.dedent('''
    from mlflow.exceptions import MlflowException
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment("logged-models")
    mlflow.autolog()   # MLflow's defaults: the fitted estimator is logged as a model named "model"
    with mlflow.start_run() as run:
        est = LogisticRegression(max_iter=300).fit(X, y)
        info = mlflow.sklearn.log_model(est, name="explicit", params={"note": "by hand"})
    run_id = run.info.run_id
    expected = est.predict(X).tolist()
    by_run = mlflow.sklearn.load_model(f"runs:/{run_id}/explicit").predict(X).tolist()
    by_id = mlflow.sklearn.load_model(info.model_uri).predict(X).tolist()
    autologged = mlflow.sklearn.load_model(f"runs:/{run_id}/model").predict(X).tolist()
    found = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    named = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string="name = 'explicit'",
                                        output_format="list")
    client = mlflow.MlflowClient()
    client.set_logged_model_tags(info.model_id, {"stage": "candidate"})
    model = client.get_logged_model(info.model_id)
    try:
        client.get_logged_model("m-0000")
        missing = None
    except MlflowException as exc:
        missing = exc.error_code
    json.dump({"run_id": run_id, "model_id": info.model_id, "equal": expected == by_run == by_id == autologged,
               "found": sorted((m.name, m.status.name, m.source_run_id == run_id) for m in found),
               "named": [m.model_id for m in named], "tags": model.tags, "params": model.params,
               "metrics": mlflow.get_run(run_id).data.metrics, "missing": missing}, open("out.json", "w"))
''')


def run_script(ws, tmp_path: Path, code: str) -> dict:
    script = tmp_path / "notebook.py"
    script.write_text(code)
    args = ["remote", ws.url, ws._backend.client.token] if ws.is_remote else ["local", str(ws.home), ""]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HEADRACE_"))}
    done = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unexpected error" not in done.stderr, done.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


def test_log_model_and_autolog_from_a_notebook_load_back_by_run_and_by_id(ws, tmp_path):
    out = run_script(ws, tmp_path, NOTEBOOK)
    assert out["equal"] is True
    assert out["found"] == [["explicit", "READY", True], ["model", "READY", True]]
    assert out["named"] == [out["model_id"]]
    assert out["tags"]["stage"] == "candidate" and out["params"]["note"] == "by hand"
    assert out["params"]["max_iter"] == "300"  # the run's params, copied by MLflow
    assert out["missing"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["metrics"]["training_accuracy_score"] > 0.9
    run = Run.get(ws, out["run_id"])
    assert run.get_metrics()["training_accuracy_score"] > 0.9  # once: not repeated for the model
    assert not isinstance(run.get_metrics()["training_accuracy_score"], list)
    listed = {m["name"]: m for m in run.get_details()["loggedModels"]}
    assert set(listed) == {"explicit", "model"} and listed["explicit"]["id"] == out["model_id"]
