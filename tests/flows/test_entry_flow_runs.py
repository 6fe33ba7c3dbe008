"""Flex flows and prompty files in batch runs, evaluations and serving, as prompt flow users run them.

Real embedded workspace and step subprocesses; the prompty calls the fake OpenAI-compatible server on loopback
through a connection stored in the workspace.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from headrace.errors import FlowDefinitionError
from headrace.flows.executor import load_flow
from headrace.flows.spec import load_spec
from headrace.sdk.flow_runs import evaluate_flow, flow_summary, run_flow
from headrace.services.connections import create_connection

FLEX_FUNCTION = """
from dataclasses import dataclass


@dataclass
class Answer:
    answer: str
    length: int


def shout(question: str, times: int = 1) -> Answer:
    return Answer(question.upper() * times, len(question) * times)
"""

FLEX_EVAL = """
class Grader:
    def __init__(self, threshold: int):
        self.threshold = threshold

    def __call__(self, length: int, truth: str):
        return {"long": length >= self.threshold, "match": str(length) == truth}

    def __aggregate__(self, line_results: list) -> dict:
        return {"long_rate": sum(r["long"] for r in line_results) / len(line_results),
                "matches": sum(r["match"] for r in line_results), "note": "not a number"}
"""

PROMPTY = """---
name: Echo
model:
  api: chat
  configuration:
    connection: llm
    model: gpt-test
  parameters:
    max_tokens: "32"
inputs:
  question:
    type: string
  lang:
    type: string
    default: en
sample:
  question: Hello?
---
system:
Answer in {{lang}}.

user:
{{question}}
"""


def _folder(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(textwrap.dedent(text))
    return folder


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _records(run) -> list[dict]:
    folder = Path(flow_summary(run)["outputs"]["local_path"])
    return [json.loads(line) for line in (folder / "outputs.jsonl").read_text().splitlines()]


def test_a_flex_flow_loads_as_a_flow_whose_inputs_come_from_the_signature(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "shout", {"flow.flex.yaml": "entry: shout:shout\n", "shout.py": FLEX_FUNCTION})
    spec = load_spec(folder)
    assert {n: (i.type, i.required, i.default) for n, i in spec.inputs.items()} == {
        "question": ("string", True, None), "times": ("int", False, 1)}
    result = load_flow(folder).run(question="hi", times="2")  # text converted by the annotation, as pf does
    assert result.outputs == {"answer": "HIHI", "length": 4}


def test_a_flex_flow_with_a_broken_entry_names_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "broken", {"flow.flex.yaml": "entry: shout:nothing\n", "shout.py": FLEX_FUNCTION})
    with pytest.raises(FlowDefinitionError, match="has no 'nothing'"):
        load_spec(folder)


def test_a_flex_flow_batch_run_then_a_class_evaluation_with_aggregate(workspace, tmp_path: Path) -> None:
    flow = _folder(tmp_path, "shout", {"flow.flex.yaml": "entry: shout:shout\n", "shout.py": FLEX_FUNCTION})
    grader = _folder(tmp_path, "grader", {"flow.flex.yaml": "entry: grade:Grader\n", "grade.py": FLEX_EVAL})
    data = _jsonl(tmp_path / "rows.jsonl", [{"q": "ab", "truth": "2"}, {"q": "abcd", "truth": "9"}])

    run = run_flow(workspace, flow, data, {"question": "${data.q}"})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [r["outputs"] for r in _records(run)] == [{"answer": "AB", "length": 2}, {"answer": "ABCD", "length": 4}]

    graded = evaluate_flow(workspace, grader, run, data, {"length": "${run.outputs.length}", "truth": "${data.truth}"},
                           init={"threshold": 3})
    assert graded.wait_for_completion(show_output=False) == "Finished"
    assert [r["outputs"] for r in _records(graded)] == [{"long": False, "match": True}, {"long": True, "match": False}]
    metrics = graded.get_metrics()
    assert metrics["long_rate"] == pytest.approx(0.5) and metrics["matches"] == 1 and "note" not in metrics


def test_a_class_entry_without_its_init_arguments_fails_the_submission(workspace, tmp_path: Path) -> None:
    grader = _folder(tmp_path, "grader", {"flow.flex.yaml": "entry: grade:Grader\n", "grade.py": FLEX_EVAL})
    data = _jsonl(tmp_path / "rows.jsonl", [{"length": 1, "truth": "1"}])
    with pytest.raises(Exception, match="threshold"):
        run_flow(workspace, grader, data)


def test_a_prompty_file_batch_run_calls_the_model_per_line(workspace, fake_llm: FakeLLM, tmp_path: Path) -> None:
    create_connection(workspace._backend.svc, "llm", type="openai", base_url=fake_llm.base_url, api_key="sk-test")
    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / "echo.prompty").write_text(PROMPTY)
    data = _jsonl(tmp_path / "rows.jsonl", [{"question": "One?", "lang": "en"},
                                                  {"question": "Two?", "lang": "fr"}])

    # A default comes before a same-named column (prompt flow's precedence): map it to use the column.
    run = run_flow(workspace, folder / "echo.prompty", data, {"lang": "${data.lang}"})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [r["outputs"] for r in _records(run)] == [{"output": "echo: One?"}, {"output": "echo: Two?"}]
    systems = sorted(r.body["messages"][0]["content"] for r in fake_llm.requests)
    assert systems == ["Answer in en.", "Answer in fr."]
    assert {r.body["max_tokens"] for r in fake_llm.requests} == {32}
    assert run.experiment.name == "echo"


def test_a_flex_flow_and_a_prompty_are_served(tmp_path: Path, fake_llm: FakeLLM, serve_app) -> None:
    import httpx

    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner
    from headrace.server.flow_app import create_flow_app

    flow = _folder(tmp_path, "shout", {"flow.flex.yaml": "entry: shout:shout\n", "shout.py": FLEX_FUNCTION})
    with serve_app(create_flow_app(load_flow(flow), None)) as url:
        r = httpx.post(f"{url}/score", json={"question": "hey", "times": 2}, timeout=30)
        assert r.status_code == 200 and r.json() == {"answer": "HEYHEY", "length": 6}
        bad = httpx.post(f"{url}/score", json={"times": 2}, timeout=30)
        assert bad.status_code == 400 and "question" in bad.json()["error"]["message"]
    (tmp_path / "echo.prompty").write_text(PROMPTY)
    runner = OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, "sk"), environ={})
    with serve_app(create_flow_app(load_flow(tmp_path / "echo.prompty"), runner)) as url:
        r = httpx.post(f"{url}/score", json={"question": "Served?"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"output": "echo: Served?"}


def test_pfclient_tests_and_runs_a_flex_flow_with_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptflow.client import PFClient

    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    grader = _folder(tmp_path, "grader", {"flow.flex.yaml": "entry: grade:Grader\n", "grade.py": FLEX_EVAL})
    pf = PFClient()
    assert pf.test(flow=str(grader), inputs={"length": 5, "truth": "5"}, init={"threshold": 3}) == {
        "long": True, "match": True}
    data = _jsonl(tmp_path / "rows.jsonl", [{"length": 1, "truth": "1"}, {"length": 4, "truth": "0"}])
    run = pf.run(flow=str(grader), data=str(data), init={"threshold": 2})
    assert run.get_status() == "Finished"
    assert pf.get_metrics(run) == {"long_rate": 0.5, "matches": 1}


def test_a_prompty_is_a_node_of_a_flow(tmp_path: Path, fake_llm: FakeLLM) -> None:
    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner

    flow = _folder(tmp_path, "qa", {
        "echo.prompty": PROMPTY,
        "flow.yaml": """
            inputs: {q: {type: string}}
            outputs: {answer: {reference: "${ask.output}"}, loud: {reference: "${shout.output}"}}
            nodes:
            - {name: ask, type: prompty, source: echo.prompty, inputs: {question: "${inputs.q}", lang: de}}
            - name: shout
              type: python
              source: shout.py
              inputs: {text: "${ask.output}"}
        """,
        "shout.py": "from headrace.flows import tool\n\n@tool\ndef shout(text: str) -> str:\n    return text.upper()\n",
    })
    assert load_spec(flow).node("ask").connection == "llm"  # from the file: a flow step is given it
    runner = OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, "sk"), environ={})
    assert load_flow(flow, llm=runner)(q="Why?") == {"answer": "echo: Why?", "loud": "ECHO: WHY?"}
    assert fake_llm.last.body["messages"][0] == {"role": "system", "content": "Answer in de."}

    text = (flow / "flow.yaml").read_text().replace("lang: de", "tone: dry")
    (flow / "flow.yaml").write_text(text)
    with pytest.raises(FlowDefinitionError, match="echo.prompty has no input 'tone' .*question, lang"):
        load_spec(flow)


FLEX_STREAM = """
def words(question: str):
    for word in question.split():
        yield word + " "
"""


def test_served_flex_generators_and_prompty_answers_stream(tmp_path: Path, fake_llm: FakeLLM, serve_app) -> None:
    import httpx
    from test_serve import sse_events

    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner
    from headrace.server.flow_app import create_flow_app

    sse = {"Accept": "text/event-stream"}
    flow = _folder(tmp_path, "words", {"flow.flex.yaml": "entry: words:words\n", "words.py": FLEX_STREAM})
    with serve_app(create_flow_app(load_flow(flow), None)) as url:
        with httpx.stream("POST", f"{url}/score", json={"question": "a b c"}, headers=sse, timeout=30) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = sse_events(r)
        assert events == [("message", {}), ("message", {"output": "a "}), ("message", {"output": "b "}),
                          ("message", {"output": "c "})]
        whole = httpx.post(f"{url}/score", json={"question": "a b c"}, timeout=30)
        assert whole.json() == {"output": "a b c "}  # JSON: the chunks joined, as prompt flow does
    (tmp_path / "echo.prompty").write_text(PROMPTY)
    runner = OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, "sk"), environ={})
    fake_llm.script(["Stre", "amed", "!"])
    with serve_app(create_flow_app(load_flow(tmp_path / "echo.prompty"), runner)) as url:
        with httpx.stream("POST", f"{url}/score", json={"question": "Q"}, headers=sse, timeout=30) as r:
            events = sse_events(r)
    assert events == [("message", {}), ("message", {"output": "Stre"}), ("message", {"output": "amed"}),
                      ("message", {"output": "!"})]
    assert fake_llm.last.body["stream"] is True


FLEX_WITH_CONNECTION = """
from promptflow.connections import OpenAIConnection


class Asker:
    def __init__(self, connection: OpenAIConnection, suffix: str = "!"):
        # as the public flex samples do: the connection is used when the class is built
        self.where = connection.base_url + suffix

    def __call__(self, question: str) -> dict:
        return {"where": self.where, "question": question}
"""


def test_a_flex_class_gets_its_connection_by_name_in_batch_runs_and_serving(
        workspace, fake_llm: FakeLLM, tmp_path: Path, serve_app) -> None:
    import httpx

    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner
    from headrace.server.flow_app import create_flow_app

    create_connection(workspace._backend.svc, "llm", type="openai", base_url=fake_llm.base_url, api_key="sk-test")
    flow = _folder(tmp_path, "asker", {"flow.flex.yaml": "entry: asker:Asker\n", "asker.py": FLEX_WITH_CONNECTION})
    data = _jsonl(tmp_path / "rows.jsonl", [{"question": "one"}, {"question": "two"}])

    run = run_flow(workspace, flow, data, init={"connection": "llm", "suffix": "?"})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [r["outputs"] for r in _records(run)] == [
        {"where": fake_llm.base_url + "?", "question": "one"}, {"where": fake_llm.base_url + "?", "question": "two"}]

    with pytest.raises(Exception, match="nope"):  # an unknown __init__ argument is refused at submission
        run_flow(workspace, flow, data, init={"connection": "llm", "nope": 1})

    runner = OpenAIRunner(lambda name: Connection(name, "openai", "http://served.example/v1", "sk"), environ={})
    with serve_app(create_flow_app(load_flow(flow, init={"connection": "llm"}), runner)) as url:
        r = httpx.post(f"{url}/score", json={"question": "hey"}, timeout=30)
        assert r.status_code == 200 and r.json() == {"where": "http://served.example/v1!", "question": "hey"}


def test_a_python_node_gets_a_connection_named_by_a_literal_input_in_a_batch_run(
        workspace, fake_llm: FakeLLM, tmp_path: Path) -> None:
    create_connection(workspace._backend.svc, "llm", type="openai", base_url=fake_llm.base_url, api_key="sk-test")
    flow = _folder(tmp_path, "where", {
        "flow.yaml": """
            inputs:
              question: {type: string}
            outputs:
              where: {type: string, reference: "${where.output}"}
            nodes:
            - name: where
              type: python
              source: {type: code, path: where.py}
              inputs: {conn: llm, question: "${inputs.question}"}
            """,
        "where.py": """
            from promptflow.connections import OpenAIConnection
            from promptflow.core import tool


            @tool
            def where(conn: OpenAIConnection, question: str) -> str:
                return conn.base_url + " " + question
            """})
    data = _jsonl(tmp_path / "rows.jsonl", [{"question": "one"}])
    run = run_flow(workspace, flow, data)
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [r["outputs"] for r in _records(run)] == [{"where": fake_llm.base_url + " one"}]
