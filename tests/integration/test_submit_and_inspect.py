"""The contract's "Define and run" example, end to end on an embedded workspace, then every way of
reading its results: statuses, steps, logs, metrics, tags, outputs, experiments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace import (
    DataPath,
    DataPathComputeBinding,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineRun,
    PythonScriptStep,
    Run,
)
from headrace.errors import NotFoundError

PREP = r'''
import argparse, json, os, sys
from headrace import Run

p = argparse.ArgumentParser()
p.add_argument("--input"); p.add_argument("--n", type=int); p.add_argument("--flag"); p.add_argument("--out")
a = p.parse_args()
text = open(a.input).read()
rows = text.splitlines()[1:]
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "prepared.csv"), "w") as f:
    f.write(text.upper())
print(f"prep read {len(rows)} rows from {a.input}")
print("ARGS " + json.dumps({"n": a.n, "flag": a.flag}))
print("ENV " + json.dumps({k: v for k, v in os.environ.items() if k.startswith("AML_PARAMETER_")}))
print("prep: a warning on stderr", file=sys.stderr)
run = Run.get_context()
print("CONTEXT " + json.dumps({"id": run.id, "parent": run.parent.id, "experiment": run.experiment.name,
                               "offline": run.offline}))
run.log("rows", len(rows))
run.log("loss", 0.5)
run.log("loss", 0.25)
run.log_row("table", epoch=1, acc=0.5)
run.log_row("table", epoch=2, acc=0.75)
run.tag("stage", "prep")
run.parent.log("pipeline_metric", 42)
run.parent.tag("data_rows", len(rows))
'''

TRAIN = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--data"); a = p.parse_args()
print("train sees", sorted(os.listdir(a.data)))
print(open(os.path.join(a.data, "prepared.csv")).read().strip())
'''


@pytest.fixture
def build_example(write_scripts):
    """``build_example(ws)``: the contract example, prep (DataPath + int + bool parameters) -> train
    through PipelineData, with ``raw/data.csv`` uploaded to the default datastore."""
    scripts = write_scripts({"prep.py": PREP, "train.py": TRAIN}, name="scripts")

    def build(ws):
        ds = ws.get_default_datastore()
        Path("data.csv").write_text("a,b\n1,2\n3,4\n")
        ds.upload_files(["data.csv"], target_path="raw", overwrite=True)
        n = PipelineParameter(name="pipeline_arg", default_value=10)
        flag = PipelineParameter(name="use_flag", default_value=False)
        raw = PipelineParameter(name="input_data", default_value=DataPath(ds, "raw/data.csv"))
        prepared = PipelineData("prepared", datastore=ds)
        PythonScriptStep(name="prep", script_name="prep.py", source_directory="scripts",  # pulled in by train
                         arguments=["--input", raw, "--n", n, "--flag", flag, "--out", prepared],
                         inputs=[raw], outputs=[prepared], allow_reuse=True)
        train = PythonScriptStep(name="train", script_name="train.py", source_directory=scripts,
                                 arguments=["--data", prepared], inputs=[prepared])
        pipeline = Pipeline(workspace=ws, steps=[train])
        assert pipeline.validate() == []
        return pipeline

    return build


@pytest.fixture
def example(workspace, build_example):
    return build_example(workspace)


def _marked(log: str, marker: str) -> dict:
    line = next(line for line in log.splitlines() if line.startswith(marker + " "))
    return json.loads(line[len(marker) + 1:])


def test_submit_is_recorded_and_queued_before_anything_runs(make_workspace, build_example, monkeypatch):
    monkeypatch.setenv("HEADRACE_AGENT__IN_PROCESS", "false")  # nothing executes until an agent starts
    ws = make_workspace()
    run = Experiment(ws, "MyExperiment").submit(build_example(ws), pipeline_parameters={"pipeline_arg": 20})
    assert run.get_status() == "Queued"
    assert [s.name for s in run.get_steps()] == ["prep", "train"]
    assert {s.status for s in run.get_steps()} == {"NotStarted"}
    assert run.parameters["pipeline_arg"] == 20

    ws._backend.ensure_agent()  # what submit does when HEADRACE_AGENT__IN_PROCESS is true
    assert run.wait_for_completion(show_output=False) == "Finished"


def test_contract_example_end_to_end(workspace, example, capsys):
    ws = workspace
    run = Experiment(ws, "MyExperiment").submit(example, pipeline_parameters={"pipeline_arg": 20,
                                                                             "use_flag": True})
    assert isinstance(run, PipelineRun)
    assert run.get_status() in ("Queued", "Running", "Finished")

    assert run.wait_for_completion(show_output=True) == "Finished"
    streamed = capsys.readouterr().out
    assert "[prep] prep read 2 rows" in streamed
    assert "[train] A,B" in streamed
    assert f"PipelineRun {run.id} Finished" in streamed

    assert run.get_status() == "Finished"
    steps = run.get_steps()
    assert [s.name for s in steps] == ["prep", "train"]
    assert all(s.status == "Finished" and not s.is_reused and s.reused_run_id is None for s in steps)
    assert [s.exit_code for s in steps] == [0, 0]

    prep = run.find_step_run("prep")[0]
    assert run.find_step_run("nope") == []
    stdout = prep.get_stdout_log()
    assert "prep read 2 rows from" in stdout
    assert "raw/data.csv" in stdout
    assert prep.get_stderr_log() == "prep: a warning on stderr\n"

    # Parameters reach the script as arguments (bool as True/False) and as AML_PARAMETER_ variables.
    assert _marked(stdout, "ARGS") == {"n": 20, "flag": "True"}
    env = _marked(stdout, "ENV")
    assert env["AML_PARAMETER_pipeline_arg"] == "20"
    assert env["AML_PARAMETER_use_flag"] == "True"
    assert "AML_PARAMETER_input_data" not in env  # data paths arrive as paths, not values

    context = _marked(stdout, "CONTEXT")
    assert context == {"id": prep.id, "parent": run.id, "experiment": "MyExperiment", "offline": False}

    execution = prep.get_execution_log()
    assert "prep.py --input" in execution and "--n 20 --flag True --out" in execution
    assert "command:" in execution
    assert "reuse: no earlier finished step run with this key; running" in execution
    assert "exited with code 0" in execution
    assert "output prepared: " in execution and " bytes written in place at " in execution

    assert prep.get_metrics() == {
        "rows": 2,
        "loss": [0.5, 0.25],
        "table": [{"epoch": 1, "acc": 0.5}, {"epoch": 2, "acc": 0.75}],
    }
    assert run.find_step_run("train")[0].get_metrics() == {}
    assert run.get_metrics() == {"pipeline_metric": 42}
    assert run.get_metrics(recursive=True)["prep"]["rows"] == 2
    assert prep.tags == {"stage": "prep"}
    assert run.tags == {"data_rows": "2"}

    downloaded = Path(prep.get_output_data("prepared").download(Path("dl")))
    assert (downloaded / "prepared.csv").read_text() == "A,B\n1,2\n3,4\n"
    with pytest.raises(NotFoundError, match="outputs of step 'prep': prepared"):
        prep.get_output_data("missing")

    train = run.find_step_run("train")[0]
    assert "train sees ['prepared.csv']" in train.get_stdout_log()

    again = PipelineRun.get(ws, run.id)
    assert again.get_status() == "Finished"
    assert again.parameters["pipeline_arg"] == 20 and again.parameters["use_flag"] is True
    assert [e.name for e in Experiment.list(ws)] == ["MyExperiment"]
    assert [r.id for r in Experiment(ws, "MyExperiment").get_runs()] == [run.id]
    with pytest.raises(NotFoundError, match="nope"):
        PipelineRun.get(ws, "nope")


def test_default_parameters_and_bool_false(workspace, example):
    run = Experiment(workspace, "Defaults").submit(example)
    assert run.wait_for_completion(show_output=False) == "Finished"
    stdout = run.find_step_run("prep")[0].get_stdout_log()
    assert _marked(stdout, "ARGS") == {"n": 10, "flag": "False"}
    assert _marked(stdout, "ENV")["AML_PARAMETER_use_flag"] == "False"


def test_string_parameter_values_are_converted(workspace, example):
    """Values given as strings (as REST and the CLI send them) are converted to the declared type."""
    run = Experiment(workspace, "Strings").submit(example, pipeline_parameters={"pipeline_arg": "7",
                                                                                 "use_flag": "true"})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert _marked(run.find_step_run("prep")[0].get_stdout_log(), "ARGS") == {"n": 7, "flag": "True"}


def test_datapath_parameter_override_and_download_binding(workspace, write_scripts):
    ws = workspace
    ds = ws.get_default_datastore()
    Path("one.csv").write_text("x\n1\n")
    Path("two.csv").write_text("x\n2\n")
    ds.upload_files(["one.csv", "two.csv"], target_path="raw", overwrite=True)
    folder = write_scripts({"show.py": """
        import sys
        print("PATH", sys.argv[1])
        print("CONTENT", open(sys.argv[1]).read().replace(chr(10), "|"))
    """})
    data = PipelineParameter(name="data", default_value=DataPath(ds, "raw/one.csv"))
    binding = (data, DataPathComputeBinding(mode="download"))
    step = PythonScriptStep(name="show", script_name="show.py", source_directory=folder,
                            arguments=[binding], inputs=[binding])
    pipeline = Pipeline(workspace=ws, steps=[step])

    run = Experiment(ws, "Bindings").submit(pipeline, pipeline_parameters={"data": DataPath(ds, "raw/two.csv")})
    assert run.wait_for_completion(show_output=False) == "Finished"
    shown = run.find_step_run("show")[0]
    out = shown.get_stdout_log()
    assert "CONTENT x|2|" in out
    local = out.split("PATH ", 1)[1].splitlines()[0]
    datastore_root = str(ws.home / "datastores" / "workspaceblobstore")
    assert not local.startswith(datastore_root)  # a copy, not the datastore file itself
    assert "downloaded" in shown.get_execution_log()

    # A data path given as a plain relative path lands on the default's datastore.
    run2 = Experiment(ws, "Bindings").submit(pipeline, pipeline_parameters={"data": "raw/one.csv"})
    assert run2.wait_for_completion(show_output=False) == "Finished"
    assert "CONTENT x|1|" in run2.find_step_run("show")[0].get_stdout_log()


def test_get_context_outside_a_pipeline_is_offline(capsys):
    run = Run.get_context()
    assert run.offline is True
    run.log("accuracy", 0.9)
    run.log_row("roc", fpr=0.1, tpr=0.8)
    run.tag("k", "v")
    captured = capsys.readouterr()
    assert "accuracy" in captured.out and "0.9" in captured.out
    assert "roc" in captured.out
    assert "not inside a pipeline step" in captured.err
    from headrace.errors import RunError

    with pytest.raises(RunError, match="outside a pipeline step"):
        Run.get_context(allow_offline=False)
