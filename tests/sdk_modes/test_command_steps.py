"""``CommandStep`` and ``ScriptRunConfig(command=...)``, in the shape of Azure ML's commandstep notebook, on an
embedded and a remote workspace: real step processes, data bound into the command, reuse, failures."""

from __future__ import annotations

import pytest

from headrace import CommandStep, Experiment, Pipeline, PipelineData, PipelineParameter, ScriptRunConfig

TRAIN = """
import argparse, os, sys
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--epochs", type=int); p.add_argument("--out"); a = p.parse_args()
run = Run.get_context()
for e in range(a.epochs):
    run.log("loss", 1.0 / (e + 1))
if a.out:
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "model.txt"), "w").write(f"epochs={a.epochs}")
print("trained", a.epochs, "with", sys.executable)
"""


def _finished(run):
    status = run.wait_for_completion(show_output=False, raise_on_error=False)
    assert status == "Finished", [(s.name, s.status, s.get_execution_log()) for s in run.get_steps()]


def test_the_notebooks_command_step_runs_a_script_run_config(ws, write_scripts):
    src = write_scripts({"train.py": TRAIN})
    config = ScriptRunConfig(source_directory=str(src), command=["python train.py --epochs 3"])
    train = CommandStep(name="train-mnist", runconfig=config)
    assert train.command == ["python", "train.py", "--epochs", "3"] and train.script_name is None
    run = Experiment(ws, "train-commandstep-pipeline").submit(Pipeline(workspace=ws, steps=[train]))
    _finished(run)
    [step] = run.get_steps()
    assert step.get_stdout_log().startswith("trained 3 with ")
    assert step.get_metrics()["loss"] == [1.0, 0.5, 1.0 / 3]
    assert "command: " in step.get_execution_log() and "train.py --epochs 3" in step.get_execution_log()


def test_data_and_parameters_in_the_command_become_paths_and_values(ws, write_scripts):
    src = write_scripts({"train.py": TRAIN})
    model = PipelineData("model", datastore=ws.get_default_datastore())
    listing = PipelineData("listing", datastore=ws.get_default_datastore())
    epochs = PipelineParameter("epochs", default_value=2)
    CommandStep(["python", "train.py", "--epochs", epochs, "--out", model], name="train",
                outputs=[model], source_directory=str(src))  # pulled in through its output
    show = CommandStep(["bash", "-c", 'cat "$0/model.txt" > "$1/seen.txt"; echo "$AML_PARAMETER_mode"', model, listing],
                       name="show", inputs=[model], outputs=[listing], params={"mode": "fast"}, source_directory=str(src))
    pipeline = Pipeline(workspace=ws, steps=[show])  # train is pulled in through its output
    assert pipeline.validate() == []
    run = Experiment(ws, "command-data").submit(pipeline, pipeline_parameters={"epochs": 4})
    _finished(run)
    [show_run] = run.find_step_run("show")
    assert show_run.get_stdout_log() == "fast\n"
    folder = write_scripts({}, name="dl")
    show_run.get_output_data("listing").download(str(folder))
    [seen] = folder.rglob("seen.txt")
    assert seen.read_text() == "epochs=4"


def test_a_command_step_is_reused_until_its_command_changes(ws, write_scripts):
    src = write_scripts({"noop.txt": "x"})
    first = Experiment(ws, "command-reuse").submit(Pipeline(ws, [CommandStep("echo one", name="say", source_directory=str(src))]))
    _finished(first)
    again = Experiment(ws, "command-reuse").submit(Pipeline(ws, [CommandStep("echo one", name="say", source_directory=str(src))]))
    _finished(again)
    assert again.get_steps()[0].is_reused
    changed = Experiment(ws, "command-reuse").submit(Pipeline(ws, [CommandStep("echo two", name="say", source_directory=str(src))]))
    _finished(changed)
    [step] = changed.get_steps()
    assert not step.is_reused and step.get_stdout_log() == "two\n"


def test_an_unknown_executable_fails_the_step_naming_the_command(ws, write_scripts):
    src = write_scripts({"noop.txt": "x"})
    step = CommandStep("no-such-tool-xyz --flag", source_directory=str(src))
    assert step.name == "CommandStep_no-such-tool-xyz"
    run = Experiment(ws, "command-missing").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    [step_run] = run.get_steps()
    log = step_run.get_execution_log()
    assert "command 'no-such-tool-xyz' not found" in log and "Traceback" not in log


def test_a_command_step_times_out(ws, write_scripts):
    src = write_scripts({"noop.txt": "x"})
    step = CommandStep("sleep 30", name="sleepy", source_directory=str(src), timeout_seconds=1, allow_reuse=False)
    run = Experiment(ws, "command-timeout").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert "timed out after 1" in run.get_steps()[0].get_execution_log()


def test_a_script_run_config_with_a_command_runs_it(ws, write_scripts):
    src = write_scripts({"data.csv": "a,b\n1,2\n"})
    run = Experiment(ws, "command-script-run").submit(ScriptRunConfig(source_directory=str(src), command="wc -l data.csv"))
    assert run.wait_for_completion(show_output=False, raise_on_error=False)["status"] == "Completed"
    assert "2 data.csv" in run.get_details_with_logs()["logFiles"]["logs/azureml/stdoutlogs.txt"]


@pytest.mark.parametrize("bad", [None, "", [], [3, "x"]])
def test_a_missing_or_malformed_command_is_refused(bad):
    from headrace.errors import DefinitionError

    with pytest.raises(DefinitionError, match="command"):
        CommandStep(bad, name="x")


def test_a_data_transfer_step_copies_on_both_backends(ws, tmp_path):
    from headrace import DataReference, Datastore, DataTransferStep

    (tmp_path / "src" / "raw").mkdir(parents=True)
    (tmp_path / "src" / "raw" / "a.txt").write_text("a")
    source = Datastore.register_local(ws, "src", str(tmp_path / "src"))
    step = DataTransferStep(name="copy", source_data_reference=DataReference(source, "raw", "raw"),
                            destination_data_reference=DataReference(ws.get_default_datastore(), "copy", "copy"))
    run = Experiment(ws, "transfer-modes").submit(Pipeline(ws, [step]))
    _finished(run)
    assert [f.path for f in ws.datastores["workspaceblobstore"].list("copy")] == ["copy/a.txt"]
    assert "copied 1 file(s), 1 bytes" in run.get_steps()[0].get_execution_log()


def test_a_command_step_is_cancellable(ws, write_scripts, tmp_path, wait_until):
    src = write_scripts({"noop.txt": "x"})
    signal = tmp_path / "started.txt"
    step = CommandStep(["bash", "-c", 'echo started > "$0"; exec sleep 600', str(signal)], name="waiter",
                       source_directory=str(src), allow_reuse=False)
    run = Experiment(ws, "command-cancel").submit(Pipeline(ws, [step]))
    wait_until(signal.exists, timeout=60)
    run.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"


def test_python_in_a_command_is_the_steps_environment(ws, write_scripts, tmp_path):
    from environments.wheels import make_wheel, offline
    from headrace import CondaDependencies, Environment

    make_wheel(tmp_path / "wheels", "hrtoy", "3.0")
    env = Environment("toy-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==3.0", *offline(tmp_path / "wheels")])
    src = write_scripts({"noop.txt": "x"})
    direct = CommandStep(["python", "-c", "import hrtoy, sys; print(hrtoy.VERSION, sys.prefix != sys.base_prefix)"],
                         name="direct", source_directory=str(src), environment=env)
    shell = CommandStep(["bash", "-c", "python -c 'import hrtoy; print(hrtoy.VERSION)'"], name="shell",
                        source_directory=str(src), environment=env)
    run = Experiment(ws, "command-env").submit(Pipeline(ws, [direct, shell]))
    _finished(run)
    assert run.find_step_run("direct")[0].get_stdout_log() == "3.0 True\n"
    assert run.find_step_run("shell")[0].get_stdout_log() == "3.0\n"  # the environment's bin leads PATH
