"""Flow batch and evaluation runs end to end: real embedded workspace, in-process agent, step subprocesses.

The llm flow calls the fake OpenAI-compatible server over loopback from inside the step process, through a
connection stored in the workspace (or defined by environment variables the step inherits).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from fake_llm import FakeLLM
from flow_samples import EVAL_FLOW, QA_FLOW
from typer.testing import CliRunner

from headrace import Experiment, Pipeline, PipelineData, PythonScriptStep
from headrace.cli.flow_batch import register
from headrace.errors import ConflictError, DefinitionError
from headrace.sdk.flow_runs import (
    BASE_RUN_TAG,
    FLOW_KIND_TAG,
    evaluate_flow,
    flow_step_run,
    flow_summary,
    run_flow,
)
from headrace.sdk.flow_step import STEP_SCRIPT, FlowStep, stage_flow
from headrace.services.connections import create_connection

ECHO_FLOW = {
    "flow.yaml": """
        inputs:
          question: {type: string}
          log: {type: string}
          flag: {type: string, default: ""}
        outputs:
          answer: {reference: "${echo.output}"}
        nodes:
        - name: echo
          type: python
          source: {type: code, path: echo.py}
          inputs: {question: "${inputs.question}", log: "${inputs.log}", flag: "${inputs.flag}"}
    """,
    "echo.py": """
        from pathlib import Path

        from headrace.flows import tool


        @tool
        def echo(question: str, log: str, flag: str = "") -> str:
            with open(log, "a") as f:
                f.write(question + "\\n")
            if question.startswith("flaky") and flag and Path(flag).exists():
                raise RuntimeError("flaky line failed")
            return question.upper()
    """,
}

ANSWERS = {"Capital of France?": "Paris.", "2+2?": "5", "Colour of the sky?": " blue"}
ROWS = [{"q": "Capital of France?", "truth": "Paris"}, {"q": "2+2?", "truth": "4"},
        {"q": "Colour of the sky?", "truth": "Blue"}]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def model(fake_llm: FakeLLM) -> FakeLLM:
    fake_llm.responder = lambda body: ANSWERS.get(body["messages"][-1]["content"], "?")
    return fake_llm


def test_a_batch_run_then_its_evaluation_are_recorded_pipeline_runs(workspace, write_flow, model, tmp_path):
    create_connection(workspace._backend.svc, "llm", type="openai", base_url=model.base_url, api_key="sk-test")
    qa, grader = write_flow("qa", QA_FLOW), write_flow("eval-accuracy", EVAL_FLOW)
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)

    run = run_flow(workspace, qa, data, {"question": "${data.q}"}, concurrency=2)
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.experiment.name == "qa" and run.tags[FLOW_KIND_TAG] == "batch"
    assert run.id in [r.id for r in Experiment(workspace, "qa").get_runs()]
    assert run.get_metrics() == {"lines_completed": 3, "lines_failed": 0}
    step = flow_step_run(run)
    assert step.get_metrics() == {"lines_completed": 3, "lines_failed": 0}
    assert "progress: 3/3 lines (3 completed, 0 failed)" in step.get_stdout_log()
    folder = Path(step.get_output_data("flow_outputs").download(tmp_path / "download"))
    records = read_jsonl(folder / "outputs.jsonl")
    assert [(r["line_number"], r["outputs"]["answer"]) for r in records] == [(0, "Paris"), (1, "5"), (2, "blue")]
    assert records[1]["inputs"] == {"question": "2+2?"} and records[1]["status"] == "Completed"
    traces = read_jsonl(folder / "traces.jsonl")
    assert traces[0]["nodes"]["chat"]["llm"]["messages"][-1] == {"role": "user", "content": "Capital of France?"}
    assert len(model.requests) == 3
    stored = workspace.get_default_datastore().list("flow-data")
    assert [f.path.rsplit("/", 1)[-1] for f in stored] == ["rows.jsonl"]

    graded = evaluate_flow(workspace, grader, run, data, {"answer": "${run.outputs.answer}", "truth": "${data.truth}"})
    assert graded.wait_for_completion(show_output=False) == "Finished"
    assert graded.experiment.name == "qa" and graded.tags[BASE_RUN_TAG] == run.id
    assert graded.get_metrics() == {"lines_completed": 3, "lines_failed": 0, "accuracy": pytest.approx(2 / 3),
                                   "graded": 3}
    summary = flow_summary(graded)
    assert (summary["status"], summary["lines"], summary["lines_completed"]) == ("Finished", 3, 3)
    outputs = Path(summary["outputs"]["local_path"])
    assert [r["outputs"]["correct"] for r in read_jsonl(outputs / "outputs.jsonl")] == [True, False, True]
    assert len(model.requests) == 3  # grading called no model


def test_connections_come_from_the_environment_the_step_inherits(workspace, write_flow, model, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("HEADRACE_CONNECTION_LLM_BASE_URL", model.base_url)
    monkeypatch.setenv("HEADRACE_CONNECTION_LLM_API_KEY", "sk-from-env")
    run = run_flow(workspace, write_flow("qa", QA_FLOW), write_jsonl(tmp_path / "rows.jsonl", ROWS[:1]),
                   {"question": "${data.q}"})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert model.last.headers["authorization"] == "Bearer sk-from-env"


def test_resuming_a_run_keeps_its_completed_lines(workspace, write_flow, tmp_path):
    flow = write_flow("echo", ECHO_FLOW)
    log, flag = tmp_path / "calls.txt", tmp_path / "fail.flag"
    flag.write_text("")
    data = write_jsonl(tmp_path / "rows.jsonl", [{"question": "a"}, {"question": "flaky"}, {"question": "c"}])
    mapping = {"log": str(log), "flag": str(flag)}

    first = run_flow(workspace, flow, data, mapping)
    assert first.wait_for_completion(show_output=False) == "Finished"
    assert first.get_metrics() == {"lines_completed": 2, "lines_failed": 1}

    flag.unlink()
    log.unlink()
    second = run_flow(workspace, flow, data, mapping, resume_from=first.id)
    assert second.wait_for_completion(show_output=False) == "Finished"
    assert log.read_text().splitlines() == ["flaky"]
    assert second.get_metrics() == {"lines_completed": 3, "lines_failed": 0, "lines_resumed": 2}
    records = read_jsonl(Path(flow_summary(second)["outputs"]["local_path"]) / "outputs.jsonl")
    assert [r["outputs"]["answer"] for r in records] == ["A", "FLAKY", "C"]


def test_a_flow_step_inside_a_pipeline_reads_upstream_data_and_feeds_a_downstream_step(workspace, write_flow,
                                                                                       write_scripts, tmp_path):
    flow = write_flow("echo", ECHO_FLOW)
    scripts = write_scripts({
        "make_rows.py": """
            import json, os, sys
            os.makedirs(sys.argv[1], exist_ok=True)
            with open(os.path.join(sys.argv[1], "rows.jsonl"), "w") as f:
                for q in ("x", "y"):
                    f.write(json.dumps({"question": q}) + "\\n")
        """,
        "count.py": """
            import json, os, sys
            from headrace import Run
            lines = open(os.path.join(sys.argv[1], "outputs.jsonl")).read().splitlines()
            answers = [json.loads(line)["outputs"]["answer"] for line in lines]
            Run.get_context().log("answers", ",".join(answers))
        """,
    })
    rows = PipelineData("rows")
    PythonScriptStep(name="make_rows", script_name="make_rows.py", source_directory=scripts, arguments=[rows],
                     outputs=[rows])  # pulled into the pipeline through `rows`
    answer = FlowStep("answer", flow, data=rows, column_mapping={"log": str(tmp_path / "calls.txt")},
                      build_root=tmp_path / "builds")
    count = PythonScriptStep(name="count", script_name="count.py", source_directory=scripts,
                             arguments=[answer.output], inputs=[answer.output])
    pipeline = Pipeline(workspace=workspace, steps=[count])
    assert [s.name for s in pipeline.steps] == ["make_rows", "answer", "count"]

    published = pipeline.publish(name="echo-batch")
    run = published.submit(workspace, "echo-pipeline")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("count")[0].get_metrics() == {"answers": "X,Y"}
    assert run.get_metrics() == {"lines_completed": 2, "lines_failed": 0}


def test_flow_steps_are_checked_when_built(write_flow, tmp_path):
    flow = write_flow("echo", ECHO_FLOW)
    with pytest.raises(DefinitionError) as caught:
        FlowStep("answer", flow, data=str(tmp_path / "rows.jsonl"), column_mapping={"questoin": "${data.q}",
                 "log": "${run.outputs.x}"}, concurrency=0, build_root=tmp_path / "builds")
    problems = "\n".join(caught.value.problems)
    assert "data must be a DataPath" in problems and "use headrace.sdk.flow_runs.run_flow" in problems
    assert "concurrency must be a whole number of at least 1" in problems
    assert "input 'questoin'" in problems
    (flow / "flow.yaml").write_text("inputs: {}\noutputs: {}\nnodes:\n- {name: x, type: nope}\n")
    with pytest.raises(DefinitionError, match="step 'answer': .*flow.yaml"):
        FlowStep("answer", flow, data=None, build_root=tmp_path / "builds")


def test_the_build_folder_is_named_by_content_and_carries_sub_flows_outside_the_flow(write_flow, tmp_path):
    write_flow("shared/sub", {
        "flow.yaml": """
            inputs: {q: {type: string}}
            outputs: {a: {reference: "${up.output}"}}
            nodes:
            - {name: up, type: python, source: up.py, inputs: {s: "${inputs.q}"}}
        """,
        "up.py": "from headrace.flows import tool\n\n\n@tool\ndef up(s: str) -> str:\n    return s.upper()\n",
    })
    main = write_flow("flows/main", {"flow.yaml": """
        inputs: {q: {type: string}}
        outputs: {a: {reference: "${sub.output.a}"}}
        nodes:
        - {name: sub, type: flow, path: ../../shared/sub, inputs: {q: "${inputs.q}"}}
    """})
    build, rel = stage_flow(main, tmp_path / "builds")
    assert rel == f"flow/{tmp_path.name}/flows/main"
    assert (build / STEP_SCRIPT).is_file()
    assert (build / rel / "flow.yaml").is_file() and (build / f"flow/{tmp_path.name}/shared/sub/up.py").is_file()
    assert stage_flow(main, tmp_path / "builds") == (build, rel)
    (main / "notes.txt").write_text("changed")
    assert stage_flow(main, tmp_path / "builds")[0] != build


def test_the_cli_runs_a_flow_and_prints_a_summary(workspace, write_flow, tmp_path):
    app = typer.Typer()
    register(app)
    flow = write_flow("echo", ECHO_FLOW)
    data = write_jsonl(tmp_path / "rows.jsonl", [{"question": "a"}, {"question": "b"}])
    home = str(workspace.home)
    cli = CliRunner()

    result = cli.invoke(app, ["run", str(flow), "--data", str(data), "--home", home, "--json",
                              "--column-mapping", f"log={tmp_path / 'calls.txt'}"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["status"], summary["lines_completed"], summary["lines_failed"]) == ("Finished", 2, 0)
    assert Path(summary["outputs"]["local_path"], "outputs.jsonl").is_file()

    traced = cli.invoke(app, ["traces", summary["run_id"], "--home", home, "--json"])
    assert traced.exit_code == 0, traced.output
    rows = json.loads(traced.output)
    assert [r["line_number"] for r in rows] == [0, 1]
    assert rows[1]["nodes"]["echo"]["status"] == "Completed" and rows[1]["nodes"]["echo"]["inputs"]["question"] == "b"
    shown = cli.invoke(app, ["traces", summary["run_id"], "--home", home, "--line", "1"])
    assert shown.exit_code == 0 and "echo" in shown.output and "Completed" in shown.output
    missing = cli.invoke(app, ["traces", summary["run_id"], "--home", home, "--line", "7"])
    assert missing.exit_code != 0 and "has no line 7" in str(missing.exception or missing.output)

    (tmp_path / "fail.flag").write_text("")
    failing = write_jsonl(tmp_path / "bad.jsonl", [{"question": "flaky"}])
    result = cli.invoke(app, ["run", str(flow), "--data", str(failing), "--home", home, "-m",
                              f"log={tmp_path / 'calls.txt'}", f"flag={tmp_path / 'fail.flag'}"])
    assert result.exit_code == 1
    assert "[echo] line 0 failed: node 'echo' failed: RuntimeError: flaky line failed" in result.output
    assert "1 (0 completed, 1 failed)" in result.output
    failed_run = json.loads(cli.invoke(app, ["run", str(flow), "--data", str(failing), "--home", home, "--json",
                                             "-m", f"log={tmp_path / 'calls.txt'}",
                                             f"flag={tmp_path / 'fail.flag'}"]).output)
    assert failed_run["status"] == "Failed" and failed_run["lines_failed"] == 1  # its outputs are still found


def test_a_run_that_has_not_ended_cannot_be_evaluated_or_resumed(make_workspace, monkeypatch, write_flow, tmp_path):
    monkeypatch.setenv("HEADRACE_AGENT__IN_PROCESS", "false")  # no agent: the run stays queued
    ws = make_workspace()
    flow = write_flow("echo", ECHO_FLOW)
    data = write_jsonl(tmp_path / "rows.jsonl", [{"question": "a"}])
    mapping = {"log": str(tmp_path / "calls.txt")}
    run = run_flow(ws, flow, data, mapping)
    assert run.get_status() == "Queued"
    with pytest.raises(ConflictError, match=f"run {run.id} is Queued: evaluate it once it has ended"):
        evaluate_flow(ws, flow, run.id)
    with pytest.raises(ConflictError, match="resume from it once it has ended"):
        run_flow(ws, flow, data, mapping, resume_from=run)
