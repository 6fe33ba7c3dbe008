"""Script runs (``ScriptRunConfig`` + ``Experiment.submit``) in the shape of Azure ML's train-on-local notebook,
embedded and remote alike."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from environments.wheels import make_wheel, offline
from headrace import CondaDependencies, DataPath, Environment, Experiment, Run, ScriptRun, ScriptRunConfig
from headrace.core.script_run import IgnoredScriptSettingWarning
from headrace.errors import NotFoundError, RunError

from .scripts import upload_csv

TRAIN = r'''
import argparse, os, pickle
from headrace import Run

parser = argparse.ArgumentParser()
parser.add_argument("--alpha", type=float, default=0.5)
parser.add_argument("--data", default=None)
args = parser.parse_args()
run = Run.get_context()
run.log("alpha", args.alpha)
if args.data:
    rows = open(args.data).read().splitlines()[1:]
    run.log("rows", len(rows))
for epoch in range(3):
    run.log("mse", 1.0 / (epoch + 1) * args.alpha)
run.log_row("curve", epoch=1, loss=0.5)
run.tag("framework", "none")
run.add_properties({"best_epoch": 2})
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.pkl", "wb") as f:
    pickle.dump({"alpha": args.alpha}, f)
os.makedirs("logs", exist_ok=True)
open("logs/train.log", "w").write("trained\n")
open("notes.txt", "w").write("kept by upload_file")
run.upload_file("extra/notes.txt", "notes.txt")
print("seen in script:", sorted(run.get_metrics()), run.get_tags())
print("parent:", run.parent)
run.complete()
'''

FAILING = r'''
from headrace import Run
run = Run.get_context()
run.log("before", 1)
run.fail(error_details="the data was bad")
'''

WAITER = r'''
import sys, time
from pathlib import Path
Path(sys.argv[1]).write_text("started")
print("waiting to be canceled", flush=True)
while True:
    time.sleep(0.05)
'''


@pytest.fixture
def src(write_scripts) -> Path:
    return write_scripts({"train.py": TRAIN, "failing.py": FAILING, "waiter.py": WAITER}, name="src")


def test_script_run_logs_outputs_and_ends_completed(ws, src, tmp_path, capsys):
    exp = Experiment(ws, "train-on-local")
    assert "train-on-local" in ws.experiments  # Experiment(ws, name) creates it
    config = ScriptRunConfig(source_directory=str(src), script="train.py", arguments=["--alpha", 0.2])
    run = exp.submit(config, tags={"kind": "baseline"})
    assert isinstance(run, ScriptRun) and run.type == "azureml.scriptrun"
    details = run.wait_for_completion(show_output=True)
    assert details["status"] == "Completed" == run.get_status()
    out = capsys.readouterr().out
    assert "seen in script: ['alpha', 'curve', 'mse']" in out and "parent: None" in out

    metrics = run.get_metrics()
    assert metrics["alpha"] == 0.2 and metrics["mse"] == pytest.approx([0.2, 0.1, 0.2 / 3])
    assert metrics["curve"] == {"epoch": 1, "loss": 0.5}
    assert run.get_metrics(name="alpha") == {"alpha": 0.2}
    assert run.get_tags() == {"kind": "baseline", "framework": "none"}
    assert run.get_properties()["best_epoch"] == 2

    names = run.get_file_names()
    assert {"outputs/model.pkl", "logs/train.log", "extra/notes.txt", "logs/azureml/stdoutlogs.txt"} <= set(names)
    path = run.download_file("outputs/model.pkl", str(tmp_path / "model.pkl"))
    assert pickle.loads(Path(path).read_bytes()) == {"alpha": 0.2}
    got = run.download_files(prefix="outputs", output_directory=str(tmp_path / "all"))
    assert got == [str(tmp_path / "all" / "outputs" / "model.pkl")]
    logs = run.get_all_logs(destination=str(tmp_path / "logs"))
    assert any(p.endswith("stdoutlogs.txt") for p in logs) and any(p.endswith("train.log") for p in logs)
    with pytest.raises(NotFoundError, match="outputs/model.pkl"):
        run.download_file("outputs/nope.pkl", str(tmp_path / "x"))

    details = run.get_details_with_logs()
    assert details["runDefinition"]["script"] == "train.py"
    assert details["runDefinition"]["arguments"] == ["--alpha", "0.2"]
    assert details["runDefinition"]["target"] == "local"
    assert "seen in script" in details["logFiles"]["logs/azureml/stdoutlogs.txt"]

    again = Run.get(ws, run.id)
    assert isinstance(again, ScriptRun) and again.experiment.workspace is ws
    assert [r.id for r in exp.get_runs(type="azureml.scriptrun")] == [run.id]
    assert list(exp.get_runs(type="azureml.PipelineRun")) == []


def test_script_run_reads_a_data_path_argument(ws, src, tmp_path):
    path = upload_csv(ws, tmp_path)
    data = DataPath(ws.get_default_datastore(), path)
    run = Experiment(ws, "data-args").submit(ScriptRunConfig(str(src), "train.py", arguments=["--data", data]))
    run.wait_for_completion()
    assert run.get_metrics()["rows"] == 2


def test_script_calling_fail_ends_failed_with_the_details(ws, src):
    run = Experiment(ws, "failing").submit(ScriptRunConfig(str(src), "failing.py"))
    with pytest.raises(RunError, match="the data was bad"):
        run.wait_for_completion()
    assert run.get_status() == "Failed"
    assert run.get_metrics() == {"before": 1}
    assert "the data was bad" in run.get_details()["error"]["error"]["message"]


def test_script_run_is_cancellable(ws, src, tmp_path, wait_until):
    signal = tmp_path / "started.txt"
    run = Experiment(ws, "cancel").submit(ScriptRunConfig(str(src), "waiter.py", arguments=[str(signal)]))
    wait_until(signal.exists, timeout=60)
    run.cancel()
    assert run.wait_for_completion()["status"] == "Canceled"


def test_a_running_run_says_cancel_requested_until_its_agent_stops_it(ws, src, tmp_path, wait_until):
    """Microsoft's manage-runs notebook: cancel(), then get_status() (Azure ML's CancelRequested meanwhile)."""
    signal = tmp_path / "started.txt"
    run = Experiment(ws, "cancel").submit(ScriptRunConfig(str(src), "waiter.py", arguments=[str(signal)]))
    wait_until(signal.exists, timeout=60)
    run.cancel()
    assert run.get_status() in ("CancelRequested", "Canceled")
    assert run.wait_for_completion()["status"] == "Canceled" and run.get_status() == "Canceled"


def test_fail_called_from_the_notebook_ends_a_queued_or_running_run_failed(ws, src, tmp_path, wait_until):
    queued = Experiment(ws, "fail").submit(ScriptRunConfig(str(src), "waiter.py", arguments=[str(tmp_path / "q")]))
    queued.fail(error_details="not wanted")  # at once, as manage-runs does: queued or just started
    with pytest.raises(RunError, match="not wanted"):
        queued.wait_for_completion()
    assert queued.get_status() == "Failed"
    signal = tmp_path / "started.txt"
    running = Experiment(ws, "fail").submit(ScriptRunConfig(str(src), "waiter.py", arguments=[str(signal)]))
    wait_until(signal.exists, timeout=60)
    running.fail(error_details="stopped by hand")
    with pytest.raises(RunError, match="stopped by hand"):
        running.wait_for_completion()
    assert running.get_status() == "Failed"


CHILDREN = r'''
from headrace import Run
run = Run.get_context()
for n, child in enumerate(run.create_children(count=3)):
    child.log("n", n)
    child.complete()
for child in run.create_children(tag_key="fold", tag_values=["a", "b"]):
    child.complete()
try:
    run.create_children(count=2, tag_key="x", tag_values=["y"])
except Exception as exc:
    print("refused:", exc)
'''


def test_create_children_in_a_script_as_manage_runs_does(ws, write_scripts):
    src = write_scripts({"kids.py": CHILDREN}, name="kids")
    run = Experiment(ws, "kids").submit(ScriptRunConfig(str(src), "kids.py"))
    run.wait_for_completion()
    children = list(run.get_children())
    assert sorted(c.get_tags().get("azureml.batch_child_number", "") for c in children) == ["", "", "0", "1", "2"]
    assert sorted(c.get_tags().get("fold", "") for c in children) == ["", "", "", "a", "b"]
    assert {c.get_status() for c in children} == {"Completed"}
    logs = "".join(run.get_details_with_logs()["logFiles"].values())
    assert "refused: create_children: count cannot be given with tag_key and tag_values" in logs


def test_restore_snapshot_gives_the_source_a_run_ran_from_as_a_zip(ws, src, tmp_path):
    import zipfile

    run = Experiment(ws, "snap").submit(ScriptRunConfig(str(src), "train.py"))
    run.wait_for_completion()
    digest = run.get_snapshot_id()
    assert digest and len(digest) == 64
    zipped = run.restore_snapshot(path=str(tmp_path / "snapshots"))
    assert zipped == str(tmp_path / "snapshots" / f"{digest}.zip")
    with zipfile.ZipFile(zipped) as z:
        assert sorted(z.namelist()) == ["failing.py", "train.py", "waiter.py"]
        assert z.read("train.py").decode().strip() == TRAIN.strip()
    with pytest.raises(NotFoundError, match="snapshot"):
        run.restore_snapshot(snapshot_id="0" * 64, path=str(tmp_path))
    env = run.get_environment()  # no environment given: the agent's own Python
    assert env.name == "default-environment" and env.python.user_managed_dependencies


def test_script_runs_in_its_environment(ws, write_scripts, tmp_path):
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "hrtoy", "2.0")
    env = Environment("toy-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==2.0", *offline(wheels)])
    folder = write_scripts({"toy.py": "import hrtoy\nfrom headrace import Run\nRun.get_context().log('v', hrtoy.VERSION)\n"})
    run = Experiment(ws, "env-script").submit(ScriptRunConfig(str(folder), "toy.py", environment=env))
    details = run.wait_for_completion()
    assert run.get_metrics() == {"v": "2.0"} and details["runDefinition"]["environment"]["name"] == "toy-env"
    used = run.get_environment()  # Microsoft's using-environments notebook
    assert used.name == "toy-env" and used.python.conda_dependencies.pip_packages == \
        env.python.conda_dependencies.pip_packages


def test_unknown_compute_target_is_warned_about_and_runs_locally(ws, src):
    config = ScriptRunConfig(str(src), "train.py", compute_target="gpu-cluster")
    with pytest.warns(IgnoredScriptSettingWarning, match="gpu-cluster"):
        run = Experiment(ws, "target").submit(config)
    assert run.wait_for_completion()["runDefinition"]["target"] == "local"


def test_the_warning_says_where_a_script_with_conda_packages_really_runs(ws, src):
    plain, built = Environment("conda-only"), Environment("conda-and-pip")
    plain.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
    built.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"],
                                                               pip_packages=["hrtoy==1.0"])
    with pytest.warns(IgnoredScriptSettingWarning, match="conda packages scikit-learn.*it runs in the agent's Python"):
        Experiment(ws, "warn").submit(ScriptRunConfig(str(src), "train.py", environment=plain)).wait_for_completion()
    with pytest.warns(IgnoredScriptSettingWarning, match="it runs in a uv-built virtual environment"):
        run = Experiment(ws, "warn").submit(ScriptRunConfig(str(src), "train.py", environment=built))
    run.cancel()
