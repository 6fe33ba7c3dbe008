"""``HyperDriveStep``: a sweep as a pipeline step. The step's process runs the trials (real processes of the
training script); the sweep and its trials are recorded under the step run; the best trial's model and
every trial's metrics reach the step's outputs, which a downstream step reads. Embedded and remote alike."""

from __future__ import annotations

import json

import pytest

from headrace import (
    BanditPolicy,
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    HyperDriveStep,
    HyperDriveStepRun,
    Pipeline,
    PipelineData,
    PrimaryMetricGoal,
    PythonScriptStep,
    ScriptRunConfig,
    TrainingOutput,
    choice,
)
from headrace.errors import DefinitionError

TRAIN = r'''
import argparse, os
from headrace import Run
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--n", type=int); p.add_argument("--lr", type=float)
a = p.parse_args()
run = Run.get_context()
base = float(open(os.path.join(a.data, "base.txt")).read())
for epoch in range(3):
    run.log("accuracy", base + a.n * 0.1 + a.lr * epoch)
run.tag("trained", "yes")
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write(f"n={a.n} lr={a.lr}")
print("parent is the sweep:", run.parent.id)
'''

WITH_MLFLOW = TRAIN + r'''
import mlflow
mlflow.log_param("width", a.n)   # mlflow in a trial lands on the trial's run
mlflow.log_metric("mlflow_loss", 1.0 / a.n)
'''

PREP = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "base.txt"), "w").write("0.5")
'''

USE = r'''
import argparse, json, os
p = argparse.ArgumentParser(); p.add_argument("--model"); p.add_argument("--metrics"); a = p.parse_args()
from headrace import Run
run = Run.get_context()
run.tag("model", open(a.model).read())  # the model_file itself, as Azure ML gives it
run.log("trials", len(json.load(open(a.metrics))))  # one JSON file, as in Azure ML
'''


def _pipeline(ws, write_scripts, policy=None, train=TRAIN):
    folder = write_scripts({"train.py": train, "prep.py": PREP, "use.py": USE})
    data = PipelineData("data")
    prep = PythonScriptStep(name="prep", script_name="prep.py", source_directory=folder, arguments=["--out", data],
                            outputs=[data], allow_reuse=False)
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(folder), "train.py"),
                              hyperparameter_sampling=GridParameterSampling({"--n": choice(1, 3, 2),
                                                                             "--lr": choice(0.01)}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_total_runs=3, max_concurrent_runs=2, policy=policy)
    metrics = PipelineData("metrics")
    model = PipelineData("model", training_output=TrainingOutput("Model", model_file="outputs/model.txt"))
    sweep = HyperDriveStep("sweep", config, estimator_entry_script_arguments=["--data", data], inputs=[data],
                           outputs=[model], metrics_output=metrics, allow_reuse=False)
    use = PythonScriptStep(name="use", script_name="use.py", source_directory=folder, inputs=[model, metrics],
                           arguments=["--model", model, "--metrics", metrics], allow_reuse=False)
    return Pipeline(ws, [prep, sweep, use])


def test_a_sweep_step_runs_its_trials_and_hands_on_the_best_model(ws, write_scripts):
    run = Experiment(ws, "sweep-step").submit(_pipeline(ws, write_scripts, train=WITH_MLFLOW))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", "\n".join(str(x) for x in [
        (s.name, s.get_status(), s.get_stdout_log()[-2000:], s.get_stderr_log()[-2000:]) for s in run.get_steps()])
    steps = {s.name: s for s in run.get_steps()}
    hd = HyperDriveStepRun(steps["sweep"])
    assert isinstance(hd, HyperDriveRun) and hd.get_status() == "Completed" and hd.parent.id == steps["sweep"].id
    trials = list(hd.get_children())
    assert len(trials) == 3 and {t.get_status() for t in trials} == {"Completed"}
    hyper = hd.get_hyperparameters()
    assert sorted(json.loads(v)["--n"] if isinstance(v, str) else v["--n"] for v in hyper.values()) == [1, 2, 3]
    best = hd.get_best_run_by_primary_metric()
    assert best.get_metrics()["accuracy"] == pytest.approx([0.8, 0.81, 0.82])
    assert best.get_tags()["trained"] == "yes"
    assert best.get_metrics()["mlflow_loss"] == pytest.approx(1 / 3)
    assert best.get_properties()["mlflow.params"] == {"width": "3"}
    assert steps["sweep"].get_properties()["best_child_run_id"] == best.id
    assert [r["run_id"] for r in hd.get_children_sorted_by_primary_metric()][0] == best.id
    # the downstream step got the best trial's model file and every trial's metrics
    assert steps["use"].get_tags()["model"] == "n=3 lr=0.01"
    assert steps["use"].get_metrics()["trials"] == 3
    assert any(name.startswith("logs/trials/") for name in steps["sweep"].get_file_names())


RACE = r'''
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--marker"); p.add_argument("--quality"); a = p.parse_args()
run = Run.get_context()
if a.quality == "good":
    run.log("accuracy", 0.9)
    open(a.marker, "w").close()
else:
    deadline = time.monotonic() + 60
    while not os.path.exists(a.marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    while time.monotonic() < deadline:   # logs until the policy stops it
        run.log("accuracy", 0.1)
        time.sleep(0.05)
'''


def test_a_policy_stops_trials_inside_the_step(ws, write_scripts, tmp_path):
    folder = write_scripts({"race.py": RACE}, name="race")
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(folder), "race.py"),
                              hyperparameter_sampling=GridParameterSampling({"--quality": choice("good", "bad")}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_concurrent_runs=2, policy=BanditPolicy(slack_amount=0.1))
    step = HyperDriveStep("race", config, estimator_entry_script_arguments=["--marker", str(tmp_path / "good-done")],
                          allow_reuse=False)
    run = Experiment(ws, "sweep-step-policy").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
    hd = HyperDriveStepRun(run.find_step_run("race")[0])
    trials = {json.loads(t.get_tags()["hyperparameters"])["--quality"]: t for t in hd.get_children()}
    assert trials["good"].get_status() == "Completed"
    assert trials["bad"].get_status() == "Canceled" and "Bandit" in (trials["bad"]._record.error or "")
    assert hd.get_best_run_by_primary_metric().id == trials["good"].id


def test_sweep_step_checks_its_arguments(tmp_path):
    (tmp_path / "train.py").write_text("print(1)")
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(tmp_path), "train.py", arguments=["--a", 1]),
                              hyperparameter_sampling=GridParameterSampling({"--n": choice(1)}),
                              primary_metric_name="m", primary_metric_goal=PrimaryMetricGoal.MINIMIZE)
    with pytest.raises(DefinitionError, match="arguments once"):
        HyperDriveStep("s", config, estimator_entry_script_arguments=["--b", 2])
    with pytest.raises(DefinitionError, match="HyperDriveConfig"):
        HyperDriveStep("s", object())  # type: ignore[arg-type]
    step = HyperDriveStep("s", config)
    assert step.arguments[-2:] == ["--a", 1] and step.script_name.endswith(".py")


def test_azure_ml_names_import_from_the_compat_package():
    from azureml.pipeline.core import TrainingOutput as AzTrainingOutput
    from azureml.pipeline.steps import HyperDriveStep as AzHyperDriveStep
    from azureml.pipeline.steps import HyperDriveStepRun as AzHyperDriveStepRun

    assert (AzHyperDriveStep, AzHyperDriveStepRun, AzTrainingOutput) == (HyperDriveStep, HyperDriveStepRun,
                                                                         TrainingOutput)


REGISTER = r'''
import argparse, os, shutil
from headrace import Model, Run
p = argparse.ArgumentParser(); p.add_argument("--saved-model", dest="saved_model"); a = p.parse_args()
os.makedirs("./kept/", exist_ok=True)
shutil.copy2(a.saved_model, "./kept/")            # the model output is the model file itself
ws = Run.get_context().experiment.workspace        # as Azure ML's register_model.py gets its workspace
Model.register(workspace=ws, model_name="swept", model_path="./kept/", tags={"from": "sweep"})
try:
    ws.get_default_datastore()
except Exception as exc:
    print("refused:", exc)
'''


def test_the_hyperdrive_notebook_shape_file_outputs_pipeline_output_and_a_model_registered_in_a_step(
        ws, write_scripts, tmp_path, monkeypatch):
    """Microsoft's ``aml-pipelines-parameter-tuning-with-hyperdrive`` notebook, in its calls: ``TrainingOutput``
    outputs are files, ``pipeline_run.get_pipeline_output(name).download('.')`` then ``open(ref._path_on_datastore)``
    reads the metrics JSON, and the next step registers the model through ``run.experiment.workspace``."""
    import pandas as pd

    from headrace import Model

    folder = write_scripts({"train.py": TRAIN, "prep.py": PREP, "register.py": REGISTER})
    data = PipelineData("data")
    prep = PythonScriptStep(name="prep", script_name="prep.py", source_directory=folder, arguments=["--out", data],
                            outputs=[data], allow_reuse=False)
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(folder), "train.py"),
                              hyperparameter_sampling=GridParameterSampling({"--n": choice(1, 2), "--lr": choice(0.01)}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_total_runs=2, max_concurrent_runs=2)
    metrics = PipelineData("metrics_data", pipeline_output_name="metrics_output",
                           training_output=TrainingOutput("Metrics"))
    model = PipelineData("saved_model", pipeline_output_name="model_output",
                         training_output=TrainingOutput("Model", model_file="outputs/model.txt"))
    sweep = HyperDriveStep("hd", config, estimator_entry_script_arguments=["--data", data], inputs=[data],
                           outputs=[metrics, model], allow_reuse=False)
    register = PythonScriptStep(name="register", script_name="register.py", source_directory=folder,
                                inputs=[model], arguments=["--saved-model", model], allow_reuse=False)
    register.run_after(sweep)
    run = Experiment(ws, "hd-notebook").submit(Pipeline(ws, [prep, sweep, register]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", "\n".join(str(x) for x in [
        (s.name, s.get_status(), s.get_stdout_log()[-2000:], s.get_stderr_log()[-2000:]) for s in run.get_steps()])

    assert "refused: workspace.get_default_datastore is not available inside a step" in \
        run.find_step_run("register")[0].get_stdout_log()
    monkeypatch.chdir(tmp_path)
    ref = run.get_pipeline_output("metrics_output")
    ref.download(".", show_progress=False)
    with open(ref._path_on_datastore) as f:
        table = pd.DataFrame(json.loads(f.read()))
    assert table.shape == (1, 2) and list(table.index) == ["accuracy"]  # one column per trial
    assert sorted(round(v[-1], 2) for v in table.loc["accuracy"]) == [0.62, 0.72]
    with pytest.raises(Exception, match="metrics_output, model_output"):
        run.get_pipeline_output("nope")

    swept = Model(ws, "swept")
    assert swept.version == 1 and swept.tags == {"from": "sweep"}
    target = swept.download(str(tmp_path / "dl"), exist_ok=True)
    assert (tmp_path / "dl" / "kept" / "saved_model").read_text() == "n=2 lr=0.01", target
