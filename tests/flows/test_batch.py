"""The batch runner (``headrace.flows.batch``) and the step entry (``headrace.flows.step_entry``), in process.

Flows are real folders with real tool files; llm flows call the fake OpenAI-compatible server over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from flow_samples import EVAL_FLOW, QA_FLOW

from headrace.errors import FlowError, FlowInputError
from headrace.flows.batch import check_mapping, previous_lines, run_batch
from headrace.flows.connections import Connection
from headrace.flows.executor import load_flow
from headrace.flows.llm_node import OpenAIRunner
from headrace.flows.step_entry import main, read_records, read_rows, read_traces

ANSWER_FLOW = {
    "flow.yaml": """
        inputs:
          question: {type: string}
          culture: {type: string, default: en}
          n: {type: int, default: 1}
        outputs:
          answer: {type: string, reference: "${answer.output.text}"}
          culture: {type: string, reference: "${answer.output.culture}"}
        nodes:
        - name: answer
          type: python
          source: {type: code, path: tools.py}
          inputs: {question: "${inputs.question}", culture: "${inputs.culture}", n: "${inputs.n}"}
    """,
    "tools.py": """
        from pathlib import Path

        from headrace.flows import tool

        HERE = Path(__file__).parent


        @tool
        def answer(question: str, culture: str, n: int) -> dict:
            with open(HERE / "calls.txt", "a") as f:
                f.write(question + "\\n")
            if question == "boom" or (question.startswith("flaky") and (HERE / "fail.flag").exists()):
                raise RuntimeError(f"cannot answer {question!r}")
            return {"text": f"{question} x{n}", "culture": culture}
    """,
}

GATE_FLOW = {
    "flow.yaml": """
        inputs:
          question: {type: string}
        outputs:
          peak: {reference: "${gate.output}"}
        nodes:
        - name: gate
          type: python
          source: {type: code, path: gate.py}
          inputs: {question: "${inputs.question}", limit: 3, total: 9}
    """,
    "gate.py": """
        import asyncio

        from headrace.flows import tool

        _state = {}


        @tool
        async def gate(question: str, limit: int, total: int) -> int:
            # Each line waits until `limit` lines are inside at once (or every line has started), so a
            # runner that started more lines than allowed would show a peak above the limit.
            loop = asyncio.get_running_loop()
            st = _state.setdefault(id(loop), {"active": 0, "started": 0, "peak": 0, "cond": asyncio.Condition()})
            async with st["cond"]:
                st["active"] += 1
                st["started"] += 1
                st["peak"] = max(st["peak"], st["active"])
                st["cond"].notify_all()
                await asyncio.wait_for(
                    st["cond"].wait_for(lambda: st["active"] >= limit or st["started"] >= total), 20)
                peak = st["peak"]
            async with st["cond"]:
                st["active"] -= 1
                st["cond"].notify_all()
            return peak
    """,
}

HANG_FLOW = {
    "flow.yaml": """
        inputs:
          question: {type: string}
        outputs:
          answer: {reference: "${wait.output}"}
        nodes:
        - name: wait
          type: python
          source: {type: code, path: wait.py}
          inputs: {question: "${inputs.question}"}
    """,
    "wait.py": """
        import asyncio

        from headrace.flows import tool


        @tool
        async def wait(question: str) -> str:
            if question == "hang":
                await asyncio.Event().wait()  # never set: only the line timeout ends it
            return question
    """,
}


def calls(folder: Path) -> list[str]:
    path = folder / "calls.txt"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def answer_flow(write_flow):
    return write_flow("answer", ANSWER_FLOW)


def test_mapping_beats_default_which_beats_a_same_named_column(answer_flow):
    rows = [{"q": "what?", "question": "not this", "culture": "fr"}]
    result = run_batch(load_flow(answer_flow), rows, column_mapping={"question": "${data.q}", "n": "3"})

    [line] = result.lines
    assert line.status == "Completed", line.error
    assert line.inputs == {"question": "what?", "culture": "en", "n": 3}  # "3" converted by the input's type
    assert line.outputs == {"answer": "what? x3", "culture": "en"}
    assert result.warnings == ["data column 'culture' is not used: input 'culture' has a default, which comes "
                               "first; map it to use the column: culture=${data.culture}"]


def test_a_required_input_reads_its_same_named_column_when_not_mapped(answer_flow):
    result = run_batch(load_flow(answer_flow), [{"question": "hello"}])
    assert result.lines[0].outputs["answer"] == "hello x1"


def test_mapping_problems_are_reported_before_any_line_runs(answer_flow):
    flow = load_flow(answer_flow)
    with pytest.raises(FlowInputError, match="input 'questoin'.*no such input.*question, culture, n"):
        run_batch(flow, [{"q": "a"}], column_mapping={"questoin": "${data.q}"})
    with pytest.raises(FlowInputError, match=r"\$\{run\.\.\.\} reads a base run, and none was given"):
        run_batch(flow, [{"q": "a"}], column_mapping={"question": "${run.outputs.answer}"})
    with pytest.raises(FlowInputError, match=r"input 'question'.*data has no column 'question' \(columns: q\)"):
        run_batch(flow, [{"q": "a"}])
    with pytest.raises(FlowInputError, match="a column mapping takes"):
        check_mapping(flow.spec, {"question": "${inputs.q}"})
    assert calls(answer_flow) == []


def test_failures_are_kept_per_line_and_the_other_lines_complete(answer_flow):
    rows = [{"q": "a"}, {"q": "boom"}, {"other": "no q here"}, {"q": "d"}]
    result = run_batch(load_flow(answer_flow), rows, column_mapping={"question": "${data.q}"}, concurrency=2)

    assert [line.line_number for line in result.lines] == [0, 1, 2, 3]
    assert [line.status for line in result.lines] == ["Completed", "Failed", "Failed", "Completed"]
    boom, missing = result.lines[1], result.lines[2]
    assert boom.error["node"] == "answer" and "cannot answer 'boom'" in boom.error["message"]
    assert boom.nodes["answer"]["status"] == "Failed"
    assert boom.inputs == {"question": "boom", "culture": "en", "n": 1}
    assert missing.error["type"] == "FlowInputError" and "'q' is not available" in missing.error["message"]
    assert (result.completed, result.failed) == (2, 2)
    assert result.metrics == {"lines_completed": 2, "lines_failed": 2}
    assert sorted(calls(answer_flow)) == ["a", "boom", "d"]


def test_resume_runs_only_the_lines_that_did_not_complete(answer_flow):
    (answer_flow / "fail.flag").write_text("")
    rows = [{"question": "a"}, {"question": "flaky 1"}, {"question": "c"}, {"question": "flaky 2"}]
    first = run_batch(load_flow(answer_flow), rows)
    assert [line.status for line in first.lines] == ["Completed", "Failed", "Completed", "Failed"]
    assert len(calls(answer_flow)) == 4

    (answer_flow / "fail.flag").unlink()
    (answer_flow / "calls.txt").unlink()
    previous = previous_lines([line.record() for line in first.lines],
                              {line.line_number: line.trace_record() for line in first.lines})
    changed = [*rows[:2], {"question": "c changed"}, rows[3]]
    second = run_batch(load_flow(answer_flow), changed, previous=previous)

    assert sorted(calls(answer_flow)) == ["c changed", "flaky 1", "flaky 2"]  # line 0 kept, line 2's input changed
    assert [line.status for line in second.lines] == ["Completed"] * 4
    assert [line.resumed for line in second.lines] == [True, False, False, False]
    assert second.lines[0].outputs == first.lines[0].outputs
    assert second.lines[0].nodes["answer"]["output"] == {"text": "a x1", "culture": "en"}
    assert second.metrics == {"lines_completed": 4, "lines_failed": 0, "lines_resumed": 1}


def test_no_more_lines_run_at_once_than_the_concurrency(write_flow):
    flow = load_flow(write_flow("gate", GATE_FLOW))
    result = run_batch(flow, [{"question": str(i)} for i in range(9)], concurrency=3)
    assert result.failed == 0, [line.error for line in result.lines]
    assert max(line.outputs["peak"] for line in result.lines) == 3


def test_a_line_over_its_timeout_fails_alone(write_flow):
    flow = load_flow(write_flow("hang", HANG_FLOW))
    rows = [{"question": "hang"}, *({"question": str(i)} for i in range(8))]
    result = run_batch(flow, rows, concurrency=4, line_timeout=0.5)
    hung = result.lines[0]
    assert hung.status == "Failed"
    assert "timed out after 0.5s" in hung.error["message"] and hung.error["node"] == "wait"
    assert [line.outputs for line in result.lines[1:]] == [{"answer": str(i)} for i in range(8)]


def test_evaluation_joins_the_base_run_by_line_number_and_aggregates(write_flow):
    flow = load_flow(write_flow("eval", EVAL_FLOW))
    base = [
        {"line_number": 0, "inputs": {"q": "capital of France?"}, "outputs": {"answer": "Paris"}, "status": "Completed"},
        {"line_number": 1, "inputs": {"q": "2+2?"}, "outputs": {"answer": "5"}, "status": "Completed"},
        {"line_number": 2, "inputs": {"q": "?"}, "outputs": {}, "status": "Failed"},
        {"line_number": 3, "inputs": {"q": "sky?"}, "outputs": {"answer": " blue"}, "status": "Completed"},
    ]
    truth = [{"truth": "paris"}, {"truth": "4"}, {"truth": "x"}, {"truth": "Blue"}]
    result = run_batch(flow, truth, base=base,
                       column_mapping={"answer": "${run.outputs.answer}", "truth": "${data.truth}"})

    assert [line.outputs.get("correct") for line in result.lines] == [True, False, None, True]
    assert result.lines[2].error["type"] == "BaseRunLineError"
    assert "line 2 Failed in the base run" in result.lines[2].error["message"]
    assert result.aggregation.status == "Completed"
    assert result.metrics == {"lines_completed": 3, "lines_failed": 1, "accuracy": pytest.approx(2 / 3),
                              "graded": 3.0}


def test_evaluation_without_data_reads_the_base_run_alone(write_flow):
    flow = load_flow(write_flow("eval", EVAL_FLOW))
    base = [{"line_number": 5, "inputs": {"expected": "a"}, "outputs": {"answer": "a"}, "status": "Completed"}]
    result = run_batch(flow, None, base=base,
                       column_mapping={"answer": "${run.outputs.answer}", "truth": "${run.inputs.expected}"})
    assert [(line.line_number, line.outputs) for line in result.lines] == [(5, {"correct": True})]
    assert result.metrics["accuracy"] == 1.0
    with pytest.raises(FlowError, match="needs data rows, or a base run"):
        run_batch(flow, None)


def test_an_llm_flow_runs_each_line_against_the_model(write_flow, fake_llm: FakeLLM):
    flow = load_flow(write_flow("chat", QA_FLOW))
    runner = OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, api_key="k"), environ={})
    rows = [{"question": f"question {i}"} for i in range(6)]
    result = run_batch(flow, rows, llm=runner, concurrency=3)

    assert [line.outputs["answer"] for line in result.lines] == [f"echo: question {i}" for i in range(6)]
    assert len(fake_llm.requests) == 6
    assert result.lines[4].nodes["chat"]["llm"]["prompt_tokens"] > 0
    assert result.lines[4].nodes["chat"]["llm"]["messages"][-1] == {"role": "user", "content": "question 4"}


def test_an_llm_line_without_a_runner_fails_naming_the_node(write_flow):
    result = run_batch(load_flow(write_flow("chat", QA_FLOW)), [{"question": "hi"}])
    assert result.lines[0].status == "Failed" and result.lines[0].error["node"] == "chat"


# -- step_entry: the files a flow step writes ------------------------------------------------------------


def test_the_step_entry_writes_outputs_traces_and_metrics(answer_flow, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text('{"q": "b"}\n\n{"q": "boom"}\n{"q": "a"}\n')
    logged: list[tuple[str, float]] = []
    out = tmp_path / "out"
    code = main(["--flow", "answer", "--data", str(data), "--output", str(out), "--column-mapping",
                 '{"question": "${data.q}"}', "--concurrency", "2"], base_dir=tmp_path,
                log_metric=lambda name, value: logged.append((name, value)))

    assert code == 0
    records = read_records(out)
    assert [(r["line_number"], r["status"]) for r in records] == [(0, "Completed"), (1, "Failed"), (2, "Completed")]
    assert records[0] == {"line_number": 0, "inputs": {"question": "b", "culture": "en", "n": 1},
                          "outputs": {"answer": "b x1", "culture": "en"}, "status": "Completed", "error": None}
    assert read_traces(out)[1]["nodes"]["answer"]["status"] == "Failed"
    assert json.loads((out / "metrics.json").read_text()) == {"lines_completed": 2, "lines_failed": 1}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["column_mapping"] == {"question": "${data.q}"} and summary["lines"] == 3
    assert logged == [("lines_completed", 2), ("lines_failed", 1)]


def test_the_step_entry_fails_when_every_line_fails_or_nothing_can_start(answer_flow, tmp_path, capsys):
    data = tmp_path / "rows.jsonl"
    data.write_text('{"question": "boom"}\n')
    assert main(["--flow", "answer", "--data", str(data), "--output", str(tmp_path / "o1")], base_dir=tmp_path) == 1
    assert "every line failed (first error: node 'answer' failed" in capsys.readouterr().err
    assert read_records(tmp_path / "o1")[0]["status"] == "Failed"

    data.write_text('{"question": "ok"}\n["not an object"]\n')
    assert main(["--flow", "answer", "--data", str(data), "--output", str(tmp_path / "o2")], base_dir=tmp_path) == 1
    assert "rows.jsonl, line 2: expected a JSON object, got list" in capsys.readouterr().err


def test_resuming_from_an_interrupted_step_reads_what_it_appended(answer_flow, tmp_path):
    before = tmp_path / "before"
    before.mkdir()
    done = {"line_number": 1, "inputs": {"question": "b", "culture": "en", "n": 1},
            "outputs": {"answer": "from before", "culture": "en"}, "status": "Completed", "error": None}
    (before / "outputs.jsonl").write_text(json.dumps(done) + '\n{"line_number": 0, "inputs": {"que')  # cut short
    data = tmp_path / "rows.csv"
    data.write_text("question\na\nb\n")
    code = main(["--flow", "answer", "--data", str(data), "--output", str(tmp_path / "out"),
                 "--resume-from", str(before)], base_dir=tmp_path)

    assert code == 0
    assert calls(answer_flow) == ["a"]
    assert [r["outputs"]["answer"] for r in read_records(tmp_path / "out")] == ["a x1", "from before"]


def test_data_files_of_every_supported_kind_are_read(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"x": 1}\n')
    (folder / "b.json").write_text('[{"x": 2}]')
    (folder / "c.csv").write_text("x\n3\n")
    (folder / "notes.txt").write_text("ignored")
    assert read_rows(folder) == [{"x": 1}, {"x": 2}, {"x": "3"}]
    with pytest.raises(FlowError, match="does not exist"):
        read_rows(tmp_path / "missing.jsonl")
