"""MLflow logging with the real ``mlflow`` client, embedded and remote alike (docs/runs.md "MLflow").

A step script calling ``mlflow.log_metric`` / ``log_param`` / ``set_tag`` / ``log_artifact`` with no
tracking configuration lands on its step run; a notebook (a separate Python process) points MLflow at the
workspace with ``mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())`` and reads that run back or logs
its own.
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

STEP = textwrap.dedent('''
    import os, mlflow
    mlflow.log_param("lr", 0.01)
    for i in range(3):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i * 10)
    mlflow.log_metrics({"acc": 0.75})
    mlflow.set_tag("stage", "train")
    os.makedirs("model", exist_ok=True)
    with open("model/weights.txt", "w") as f:
        f.write("weights")
    mlflow.log_artifact("model/weights.txt", artifact_path="model")
    run = mlflow.active_run()
    script_run = os.environ.get("HEADRACE_RUN_KIND") == "script"  # then MLflow's run is the script run
    assert run.info.run_id == os.environ["HEADRACE_RUN_ID" if script_run else "HEADRACE_STEP_RUN_ID"]
    seen = mlflow.get_run(run.info.run_id).data
    assert seen.params == {"lr": "0.01"} and seen.metrics["loss"] == 1.0 / 3, seen
    assert mlflow.get_experiment(run.info.experiment_id).name == os.environ["HEADRACE_EXPERIMENT_NAME"]
    mlflow.set_tag("experiment_id", run.info.experiment_id)
    mlflow.end_run()  # ends nothing: the step's process does
''')

NOTEBOOK = textwrap.dedent('''
    import json, sys, mlflow
    from headrace import Workspace
    ws = Workspace(home=sys.argv[2]) if sys.argv[1] == "local" else Workspace(url=sys.argv[2], token=sys.argv[3])
    mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
    client = mlflow.MlflowClient()
    step = client.get_run(sys.argv[4])
    history = [(m.step, m.value) for m in client.get_metric_history(step.info.run_id, "loss")]
    files = [f.path for f in client.list_artifacts(step.info.run_id, "model")]
    weights = open(client.download_artifacts(step.info.run_id, "model/weights.txt", ".")).read()
    mlflow.set_experiment("notebook")
    with mlflow.start_run(run_name="interactive") as run:
        mlflow.log_metric("score", 0.5, step=1)
        mlflow.log_param("depth", 4)
    again = client.get_run(run.info.run_id)
    json.dump({"step": {"params": step.data.params, "metrics": step.data.metrics, "tags": step.data.tags,
                        "history": history, "files": files, "weights": weights,
                        "experiment": client.get_experiment(step.info.experiment_id).name,
                        "experiment_id": step.info.experiment_id},
               "notebook": {"id": run.info.run_id, "status": again.info.status, "metrics": again.data.metrics,
                            "params": again.data.params}}, open("out.json", "w"))
''')


def notebook(ws, tmp_path: Path, step_run_id: str) -> dict:
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK)
    if ws.is_remote:
        token = ws._backend.client.token
        args = ["remote", ws.url, token]
    else:
        args = ["local", str(ws.home), ""]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HEADRACE_"))}
    done = subprocess.run([sys.executable, str(script), *args, step_run_id], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())


def test_mlflow_in_a_step_lands_on_the_step_run_and_a_notebook_reads_it(ws, tmp_path):
    src = tmp_path / "mlflow_src"
    src.mkdir()
    (src / "train.py").write_text(STEP)
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(src))
    run = Experiment(ws, "mlflow-steps").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished", run.find_step_run("train")[0].get_stderr_log()
    train = run.find_step_run("train")[0]
    assert train.get_metrics() == {"loss": [1.0, 0.5, pytest.approx(1 / 3)], "acc": 0.75}
    assert train.get_tags()["stage"] == "train"

    out = notebook(ws, tmp_path, train.id)
    assert out["step"]["params"] == {"lr": "0.01"}
    assert out["step"]["metrics"] == {"loss": pytest.approx(1 / 3), "acc": 0.75}
    assert out["step"]["tags"]["stage"] == "train" and out["step"]["experiment"] == "mlflow-steps"
    assert out["step"]["tags"]["experiment_id"] == out["step"]["experiment_id"]  # the same id in the step and outside
    assert out["step"]["history"] == [[0, 1.0], [10, 0.5], [20, pytest.approx(1 / 3)]]
    assert out["step"]["files"] == ["model/weights.txt"] and out["step"]["weights"] == "weights"
    nb = out["notebook"]
    assert nb["status"] == "FINISHED" and nb["metrics"] == {"score": 0.5} and nb["params"] == {"depth": "4"}
    assert "notebook" in ws.experiments


def test_mlflow_in_a_script_run_lands_on_the_script_run(ws, tmp_path):
    src = tmp_path / "script_src"
    src.mkdir()
    (src / "train.py").write_text(STEP)
    run = Experiment(ws, "mlflow-script").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"loss": [1.0, 0.5, pytest.approx(1 / 3)], "acc": 0.75}
    assert run.get_tags()["stage"] == "train" and run.get_properties()["mlflow.params"] == {"lr": "0.01"}
    assert "model/weights.txt" in run.get_file_names()
    run.download_file("model/weights.txt", str(tmp_path / "weights.txt"))
    assert (tmp_path / "weights.txt").read_text() == "weights"


AUTOLOG = textwrap.dedent('''
    import json, sys, mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    notebook = len(sys.argv) > 1
    if notebook:   # a notebook points MLflow at the workspace; a step needs nothing
        from headrace import Workspace
        ws = Workspace(home=sys.argv[2]) if sys.argv[1] == "local" else Workspace(url=sys.argv[2], token=sys.argv[3])
        mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
        mlflow.set_experiment("autolog-notebook")
    mlflow.autolog()   # MLflow's defaults, logged models included
    X, y = load_iris(return_X_y=True)
    if notebook:
        with mlflow.start_run() as run:
            LogisticRegression(max_iter=300).fit(X, y)
        json.dump({"run_id": run.info.run_id}, open("out.json", "w"))
    else:
        LogisticRegression(max_iter=300).fit(X, y)
''')


def test_mlflow_autolog_with_scikit_learn_in_a_step_and_in_a_notebook(ws, tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is in the dev extras")  # installed in CI: never skipped there
    src = tmp_path / "autolog_src"
    src.mkdir()
    (src / "train.py").write_text(AUTOLOG)
    step = PythonScriptStep(name="fit", script_name="train.py", source_directory=str(src))
    run = Experiment(ws, "autolog").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished", run.find_step_run("fit")[0].get_stderr_log()
    fit = run.find_step_run("fit")[0]
    metrics = fit.get_metrics()
    assert metrics["training_accuracy_score"] > 0.9 and "training_f1_score" in metrics
    assert fit.get_tags()["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert fit.get_properties()["mlflow.params"]["max_iter"] == "300"

    args = ["remote", ws.url, ws._backend.client.token] if ws.is_remote else ["local", str(ws.home), ""]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "HEADRACE_"))}
    done = subprocess.run([sys.executable, str(src / "train.py"), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unexpected error" not in done.stderr, done.stderr[-3000:]
    nb_run = Run.get(ws, json.loads((tmp_path / "out.json").read_text())["run_id"])
    assert nb_run.experiment.name == "autolog-notebook"
    assert nb_run.get_metrics()["training_accuracy_score"] > 0.9
    assert nb_run.get_properties()["mlflow.params"]["solver"] == "lbfgs"
