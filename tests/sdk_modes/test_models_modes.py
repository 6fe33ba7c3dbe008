"""The model registry through the SDK on both backends: an embedded workspace and a remote one (REST)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import Experiment, Model, Pipeline, PipelineData, PythonScriptStep, Workspace
from headrace.errors import ModelError, NotFoundError

TRAIN = r'''
import argparse, os, pickle
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(os.path.join(a.out, "weights"), exist_ok=True)
with open(os.path.join(a.out, "model.pkl"), "wb") as f:
    pickle.dump({"coef": [1.5, -2.0]}, f)
with open(os.path.join(a.out, "weights", "w.bin"), "wb") as f:
    f.write(b"\x00\x01\x02")
'''


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "artefact"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"pickled")
    (folder / "sub" / "vocab.txt").write_text("a\nb\n")
    return folder


def test_register_list_get_download_and_tags(ws: Workspace, model_dir: Path, tmp_path: Path):
    one = Model.register(ws, model_path=str(model_dir / "model.pkl"), model_name="churn", tags={"area": "crm"},
                         properties={"auc": "0.91"}, description="first", model_framework="ScikitLearn",
                         model_framework_version="1.5")
    assert (one.name, one.version, one.id, one.stage) == ("churn", 1, "churn:1", "None")
    two = Model.register(ws, str(model_dir), "churn", tags={"area": "crm", "big": "yes"})
    assert two.version == 2 and sorted(f["path"] for f in two.files) == ["artefact/model.pkl", "artefact/sub/vocab.txt"]
    assert Model(ws, "churn").version == 2
    assert Model(ws, "churn", version=1).description == "first"
    assert Model(ws, id="churn:1").model_framework == "ScikitLearn"
    assert Model(ws, "churn", tags=[["big", "yes"]]).version == 2
    assert [m.id for m in Model.list(ws)] == ["churn:1", "churn:2"]
    assert [m.id for m in Model.list(ws, latest=True)] == ["churn:2"]
    assert {n: m.version for n, m in ws.models.items()} == {"churn": 2}
    assert [m.id for m in Model.list(ws, tags=["big"])] == ["churn:2"]
    assert [m.id for m in Model.list(ws, properties=[["auc", "0.91"]])] == ["churn:1"]
    path = one.download(tmp_path / "dl")
    assert Path(path) == tmp_path / "dl" / "model.pkl" and Path(path).read_bytes() == b"pickled"
    with pytest.raises(ModelError, match="already exists"):
        one.download(tmp_path / "dl")
    folder = two.download(tmp_path / "dl2", exist_ok=True)
    assert (Path(folder) / "sub" / "vocab.txt").read_text() == "a\nb\n"
    one.add_tags({"owner": "ana"})
    one.remove_tags(["area"])
    one.add_properties({"f1": "0.8"})
    again = Model(ws, "churn", version=1)
    assert again.tags == {"owner": "ana"} and again.properties == {"auc": "0.91", "f1": "0.8"}
    with pytest.raises(ModelError, match="properties cannot be changed once set: auc"):
        again.add_properties({"auc": "0.5"})
    cached = Model.get_model_path("churn", version=1, _workspace=ws)
    assert Path(cached).read_bytes() == b"pickled"
    one.delete()
    with pytest.raises(NotFoundError, match="versions of 'churn': 2"):
        Model(ws, "churn", version=1)
    with pytest.raises(NotFoundError, match="registered models: churn"):
        Model(ws, "nope")


def test_stages_history_and_aliases(ws: Workspace, model_dir: Path):
    v1, v2 = (Model.register(ws, str(model_dir / "model.pkl"), "fraud") for _ in range(2))
    v1.transition_stage("Production", comment="first release")
    v2.transition_stage("staging")
    assert v2.stage == "Staging"
    v2.transition_stage("Production", comment="better recall", archive_existing=True)
    assert (Model(ws, "fraud", version=1).stage, Model(ws, "fraud", version=2).stage) == ("Archived", "Production")
    history = Model(ws, "fraud", version=1).get_stage_history()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [("None", "Production"), ("Production", "Archived")]
    assert history[0]["comment"] == "first release" and history[0]["changed_by"]
    with pytest.raises(ModelError, match="a stage is one of None, Staging, Production, Archived"):
        v2.transition_stage("Live")
    assert Model(ws, "fraud", version=2).stage == "Production"  # nothing half-recorded
    v1.set_alias("champion")
    assert Model(ws, "fraud", alias="champion").version == 1
    v2.set_alias("champion")
    assert Model(ws, "fraud", alias="champion").version == 2 and Model(ws, "fraud", version=2).aliases == ["champion"]
    v2.delete_alias("champion")
    with pytest.raises(NotFoundError, match="aliases of 'fraud': none"):
        Model(ws, "fraud", alias="champion")


def test_a_training_pipeline_step_output_becomes_a_model(ws: Workspace, write_scripts):
    scripts = write_scripts({"train.py": TRAIN})
    out = PipelineData("model_out", datastore=ws.get_default_datastore())
    train = PythonScriptStep(name="train", script_name="train.py", source_directory=str(scripts),
                             arguments=["--out", out], outputs=[out])
    run = Experiment(ws, "training").submit(Pipeline(ws, [train]))
    run.wait_for_completion(show_output=False)
    model = run.register_model("regressor", model_path="model_out/model.pkl", tags={"from": "pipeline"})
    assert (model.version, model.run_id, model.step_name, model.experiment_name) == (1, run.id, "train", "training")
    folder = run.find_step_run("train")[0].register_model("regressor", "model_out/weights")
    assert folder.version == 2 and [f["path"] for f in folder.files] == ["weights/w.bin"]
    with pytest.raises(ModelError, match=r"'model_out/nope.pkl' is not among the files of run .*it has: "
                                         r"model_out/model.pkl, model_out/weights/w.bin"):
        run.register_model("regressor", "model_out/nope.pkl")
    assert [m.version for m in Model.list(ws, name="regressor")] == [1, 2]  # the refused one recorded nothing
    assert [m.id for m in Model.list(ws, run_id=run.id)] == ["regressor:1", "regressor:2"]
    assert Model(ws, "regressor", version=1).run.id == run.id


IN_STEP = r'''
import argparse, os, sys
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--mode"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "model.pkl"), "wb").write(b"from the output")
os.makedirs("outputs", exist_ok=True)
open("outputs/model.pkl", "wb").write(b"from ./outputs")
run = Run.get_context()
if a.mode == "ok":
    pending = run.register_model("in-step", "model_out/model.pkl", tags={"by": "step"}, properties={"auc": "0.7"})
    print("pending", pending.version)
    run.register_model("in-step", "outputs/model.pkl")
elif a.mode == "vanish":
    run.register_model("vanishing", "outputs/model.pkl")
    os.remove("outputs/model.pkl")
else:
    try:
        run.register_model("never", "model.pkl")
    except Exception as exc:
        print(type(exc).__name__, exc, file=sys.stderr)
        sys.exit(3)
'''


def _in_step(ws: Workspace, scripts: Path, mode: str):
    out = PipelineData("model_out", datastore=ws.get_default_datastore())
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(scripts),
                            arguments=["--out", out, "--mode", mode], outputs=[out], allow_reuse=False)
    run = Experiment(ws, "in-step").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    return run


def test_a_step_script_registers_models_that_exist_once_it_ends(ws: Workspace, write_scripts):
    scripts = write_scripts({"train.py": IN_STEP})
    run = _in_step(ws, scripts, "ok")
    assert run.get_status() == "Finished"
    first, second = Model.list(ws, name="in-step")
    assert (first.run_id, first.step_name, first.tags, first.created_by) == (run.id, "train", {"by": "step"},
                                                                            f"run:{run.id}/train")
    assert first.properties == {"auc": "0.7"} and [f["path"] for f in second.files] == ["model.pkl"]
    assert "pending None" in run.find_step_run("train")[0].get_stdout_log()
    assert Path(second.download(str(Path(scripts) / "dl"))).read_bytes() == b"from ./outputs"
    assert run.register_model("again", "outputs/model.pkl").files[0]["path"] == "model.pkl"  # a one-step run's ./outputs

    gone = _in_step(ws, scripts, "vanish")
    assert gone.get_status() == "Failed"
    error = gone.find_step_run("train")[0].error
    assert "run.register_model('vanishing', 'outputs/model.pkl')" in error and "model_out/model.pkl" in error
    assert Model.list(ws, name="vanishing") == []

    refused = _in_step(ws, scripts, "refused")
    assert refused.get_status() == "Failed"
    assert "ModelError model path 'model.pkl' is neither in ./outputs" in refused.find_step_run("train")[0].get_stderr_log()


SCRIPT = r'''
import os
from headrace import Run
os.makedirs("outputs", exist_ok=True)
open("outputs/model.pkl", "wb").write(b"script model")
Run.get_context().register_model("from-script", "outputs/model.pkl")
'''


def test_script_runs_and_interactive_runs_register_their_outputs(ws: Workspace, write_scripts, tmp_path: Path):
    from headrace import ScriptRunConfig

    src = write_scripts({"train.py": SCRIPT})
    run = Experiment(ws, "script-models").submit(ScriptRunConfig(str(src), "train.py"))
    run.wait_for_completion()
    inside = Model(ws, "from-script")
    assert inside.run_id == run.id and Path(inside.download(tmp_path / "a")).read_bytes() == b"script model"
    after = run.register_model("after-script", model_path="outputs/model.pkl")  # Azure ML's usual call
    assert after.run_id == run.id and after.files[0]["path"] == "model.pkl"
    live = Experiment(ws, "notebook").start_logging()
    (tmp_path / "w.bin").write_bytes(b"notebook model")
    live.upload_file("outputs/w.bin", str(tmp_path / "w.bin"))
    kept = live.register_model("from-notebook", "outputs/w.bin")
    live.complete()
    assert (kept.run_id, Path(kept.download(tmp_path / "b")).read_bytes()) == (live.id, b"notebook model")


SCORE = r'''
from headrace import Model
path = Model.get_model_path("scorer")
print("model says", open(path).read(), "from", path)
print("pinned", open(Model.get_model_path("scorer", version=1)).read())
'''


def test_a_step_given_workspace_variables_reads_the_registry(ws: Workspace, write_scripts, tmp_path: Path):
    (tmp_path / "m.txt").write_text("v1")
    Model.register(ws, str(tmp_path / "m.txt"), "scorer")
    (tmp_path / "m.txt").write_text("v2")
    Model.register(ws, str(tmp_path / "m.txt"), "scorer")
    backend = ws._backend
    if getattr(backend, "svc", None) is not None:
        env = {"HEADRACE_HOME": str(backend.svc.home)}
    else:
        env = {"HEADRACE_URL": backend.client.url,
               "HEADRACE_TOKEN": backend.client._http.headers["Authorization"].split(" ", 1)[1]}
    step = PythonScriptStep(name="score", script_name="score.py", source_directory=str(write_scripts({"score.py": SCORE})),
                            environment_variables=env, allow_reuse=False)
    run = Experiment(ws, "scoring").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    out = run.find_step_run("score")[0].get_stdout_log()
    assert "model says v2 from azureml-models/scorer/2/m.txt" in out and "pinned v1" in out


SCORE_PLAIN = r'''
from headrace import Model
from headrace.errors import NotFoundError
path = Model.get_model_path("scorer")
print("model says", open(path).read())
print("pinned", open(Model.get_model_path("scorer", version=1)).read())
print("again", Model.get_model_path("scorer") == path)
try:
    Model.get_model_path("nope")
except NotFoundError as exc:
    print("missing:", exc)
'''


def test_a_step_without_credentials_gets_registered_models_from_the_agent(ws: Workspace, write_scripts,
                                                                           tmp_path: Path):
    """As Azure ML batch-scoring scripts do in init(): Model.get_model_path(name), no workspace at hand."""
    (tmp_path / "m.txt").write_text("v1")
    Model.register(ws, str(tmp_path / "m.txt"), "scorer")
    (tmp_path / "m.txt").write_text("v2")
    Model.register(ws, str(tmp_path / "m.txt"), "scorer")
    step = PythonScriptStep(name="score", script_name="score.py", allow_reuse=False,
                            source_directory=str(write_scripts({"score.py": SCORE_PLAIN})))
    run = Experiment(ws, "scoring").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    out = run.find_step_run("score")[0].get_stdout_log()
    assert "model says v2" in out and "pinned v1" in out and "again True" in out
    assert "missing:" in out and "registered models: scorer" in out
