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

from headrace import Experiment, Pipeline, PythonScriptStep, Run, ScriptRunConfig

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


STEP = textwrap.dedent('''
    import os, mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    mlflow.autolog()   # no tracking configuration: the step's own run, models included
    X, y = load_iris(return_X_y=True)
    est = LogisticRegression(max_iter=300).fit(X, y)
    run_id = os.environ["HEADRACE_STEP_RUN_ID"]   # the run autolog logged to (it ended it after fit)
    again = mlflow.sklearn.load_model(f"runs:/{run_id}/model")   # read back inside the step
    assert again.predict(X).tolist() == est.predict(X).tolist()
    os.makedirs("outputs", exist_ok=True)
    open("outputs/expected.txt", "w").write(",".join(map(str, est.predict(X).tolist())))
''')

READER = CONNECT + textwrap.dedent('''
    from sklearn.datasets import load_iris
    X, _ = load_iris(return_X_y=True)
    step_run_id = sys.argv[4]
    exp_id = mlflow.MlflowClient().get_run(step_run_id).info.experiment_id
    found = mlflow.search_logged_models(experiment_ids=[exp_id], filter_string=f"source_run_id = '{step_run_id}'",
                                        output_format="list")
    json.dump({"by_run": mlflow.sklearn.load_model(f"runs:/{step_run_id}/model").predict(X).tolist(),
               "by_id": mlflow.sklearn.load_model(f"models:/{found[0].model_id}").predict(X).tolist(),
               "found": [(m.name, m.status.name) for m in found]}, open("out.json", "w"))
''')


def test_autolog_with_its_defaults_in_a_step_keeps_the_model_for_a_notebook(ws, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "train.py").write_text(STEP)
    step = PythonScriptStep(name="fit", script_name="train.py", source_directory=str(src))
    run = Experiment(ws, "autolog-models").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished", run.find_step_run("fit")[0].get_stderr_log()
    fit = run.find_step_run("fit")[0]
    assert "unexpected error" not in fit.get_stderr_log(), fit.get_stderr_log()[-3000:]
    metrics = fit.get_metrics()
    assert metrics["training_accuracy_score"] > 0.9 and not isinstance(metrics["training_accuracy_score"], list)
    [model] = fit.get_details()["loggedModels"]
    assert model["name"] == "model" and model["status"] == "READY"
    fit.download_file("outputs/expected.txt", str(tmp_path / "expected.txt"))
    expected = [int(v) for v in (tmp_path / "expected.txt").read_text().split(",")]

    script = tmp_path / "reader.py"
    script.write_text(READER)
    args = ["remote", ws.url, ws._backend.client.token] if ws.is_remote else ["local", str(ws.home), ""]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HEADRACE_"))}
    done = subprocess.run([sys.executable, str(script), *args, fit.id], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["found"] == [["model", "READY"]]
    assert out["by_run"] == out["by_id"] == expected


SCRIPT = textwrap.dedent('''
    import os, mlflow
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier
    X, y = load_iris(return_X_y=True)
    info = mlflow.sklearn.log_model(DecisionTreeClassifier(max_depth=2).fit(X, y), name="tree",
                                    serialization_format="cloudpickle")   # skops refuses trees unless trusted
    # No active run: the model is still the script run's (a script run's MLflow run is the script run).
    assert mlflow.get_logged_model(info.model_id).source_run_id == os.environ["HEADRACE_RUN_ID"]
    assert mlflow.sklearn.load_model(info.model_uri).predict(X[:3]).tolist() == [0, 0, 0]
''')


def test_log_model_in_a_script_run_lands_on_the_script_run(ws, tmp_path):
    src = tmp_path / "script_src"
    src.mkdir()
    (src / "train.py").write_text(SCRIPT)
    run = Experiment(ws, "script-models").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed", run.get_details()
    [model] = run.get_details()["loggedModels"]
    assert model["name"] == "tree" and model["status"] == "READY" and model["uri"] == f"models:/{model['id']}"


REGISTER = CONNECT + textwrap.dedent('''
    from headrace import Model
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment("registering")
    with mlflow.start_run() as run:
        est = LogisticRegression(max_iter=300).fit(X, y)
        info = mlflow.sklearn.log_model(est, name="clf", registered_model_name="iris-mlflow")
    again = mlflow.register_model(f"runs:/{run.info.run_id}/clf", "iris-mlflow")
    loaded = mlflow.sklearn.load_model("models:/iris-mlflow/2")
    version = Model(ws, "iris-mlflow", version=2)
    json.dump({"first": info.registered_model_version, "second": again.version, "source": again.source,
               "model_id": info.model_id, "equal": loaded.predict(X).tolist() == est.predict(X).tolist(),
               "run_id": run.info.run_id, "headrace_run": version.run_id}, open("out.json", "w"))
''')


def test_register_model_and_registered_model_name_make_headrace_model_versions(ws, tmp_path):
    out = run_script(ws, tmp_path, REGISTER)
    assert (str(out["first"]), str(out["second"])) == ("1", "2")
    assert out["source"] == f"models:/{out['model_id']}" and out["equal"] is True
    assert out["headrace_run"] == out["run_id"]
    from headrace import Model
    version = Model(ws, "iris-mlflow", version=1)
    assert version.properties["mlflow.model_id"] == out["model_id"]
