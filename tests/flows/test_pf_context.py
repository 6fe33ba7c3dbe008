"""prompt flow's flow-as-a-function (``load_flow`` + ``FlowContext``), ``Run``/``load_run`` with
``pf.runs``, and ``pf.connections``, as the public tutorials use them (get-started/flow-as-function,
run-management), over a local workspace and the fake OpenAI-compatible server on loopback.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from fake_llm import FakeLLM

CHAT_FLOW = {  # the llm node's answer is the flow's output: it can stream
    "flow.yaml": """
        inputs:
          question: {type: string}
        outputs:
          answer: {type: string, reference: "${chat.output}"}
        nodes:
        - name: chat
          type: llm
          source: {type: code, path: chat.jinja2}
          connection: stored_conn
          inputs: {model: gpt-4o-mini, question: "${inputs.question}"}
    """,
    "chat.jinja2": """
        # system:
        Be brief.
        # user:
        {{ question }}
    """,
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _flow(root: Path) -> Path:
    folder = root / "chat"
    folder.mkdir()
    for rel, text in CHAT_FLOW.items():
        (folder / rel).write_text(textwrap.dedent(text))
    return folder


def test_a_flow_as_a_function_takes_connection_objects_overrides_and_streams(
        home: Path, tmp_path: Path, fake_llm: FakeLLM) -> None:
    from promptflow.client import load_flow
    from promptflow.entities import FlowContext, OpenAIConnection

    flow = _flow(tmp_path)
    f = load_flow(source=str(flow))
    with pytest.raises(Exception, match="stored_conn"):  # nothing stored under that name
        f(question="Hi?")

    # an in-memory connection object for the node: used, never stored
    f.context.connections = {"chat": {"connection": OpenAIConnection(name="mem", api_key="sk-mem",
                                                                     base_url=fake_llm.base_url)}}
    assert f(question="Hi?") == {"answer": "echo: Hi?"}
    assert fake_llm.last.headers["authorization"] == "Bearer sk-mem"

    f.context = FlowContext(connections=f.context.connections,
                            overrides={"nodes.chat.inputs.question": "Fixed?", "nodes.chat.inputs.model": "m2"})
    assert f(question="ignored") == {"answer": "echo: Fixed?"}
    assert fake_llm.last.body["model"] == "m2"

    f.context.overrides = {}
    f.context.streaming = True
    result = f(question="Stream?")
    assert not isinstance(result["answer"], str)
    assert "".join(result["answer"]) == "echo: Stream?"
    assert fake_llm.last.body["stream"] is True

    f.context = FlowContext(connections={"nope": {"connection": "x"}})
    with pytest.raises(Exception, match="no node 'nope'"):
        f(question="Hi?")


def test_connections_are_created_read_listed_and_deleted_through_pf_connections(home: Path) -> None:
    from promptflow._sdk.entities import AzureOpenAIConnection  # the older import path flows still use
    from promptflow.client import PFClient
    from promptflow.entities import CustomConnection

    from headrace.errors import NotFoundError

    pf = PFClient()
    made = pf.connections.create_or_update(AzureOpenAIConnection(
        name="aoai", api_key="k1", api_base="https://r.openai.azure.com", api_version="2024-02-01"))
    assert type(made).__name__ == "AzureOpenAIConnection" and made.api_key == "k1"
    pf.connections.create_or_update(CustomConnection(name="search", configs={"endpoint": "https://s"},
                                                     secrets={"key": "s3"}))
    got = pf.connections.get(name="search")
    assert got.endpoint == "https://s" and got.key == "s3" and got.is_secret("key")
    assert sorted(c.name for c in pf.connections.list()) == ["aoai", "search"]
    pf.connections.delete(name="aoai")
    with pytest.raises(NotFoundError, match="aoai"):
        pf.connections.get(name="aoai")
    with pytest.raises(ValueError, match="name"):
        pf.connections.create_or_update(CustomConnection(configs={"a": "b"}))


def test_runs_from_run_entities_and_run_files(home: Path, tmp_path: Path, fake_llm: FakeLLM) -> None:
    from promptflow.client import PFClient, load_run
    from promptflow.entities import OpenAIConnection, Run

    pf = PFClient()
    pf.connections.create_or_update(OpenAIConnection(name="good", api_key="sk-g", base_url=fake_llm.base_url))
    flow = _flow(tmp_path)
    (flow / "data.jsonl").write_text("".join(json.dumps({"q": q}) + "\n" for q in ("One?", "Two?")))
    (flow / "run.yml").write_text("$schema: https://example/Run.schema.json\nflow: .\ndata: data.jsonl\n"
                                  "column_mapping:\n  question: ${data.nothing}\n")

    base = load_run(source=str(flow / "run.yml"), params_override=[
        {"column_mapping": {"question": "${data.q}"}}, {"connections": {"chat": {"connection": "good"}}}])
    base = pf.runs.create_or_update(run=base)
    assert base.get_status() == "Finished"
    assert list(pf.get_details(base)["outputs.answer"]) == ["echo: One?", "echo: Two?"]

    again = pf.runs.create_or_update(run=Run(flow=str(flow), run=base, column_mapping={
        "question": "${run.outputs.answer}"}, connections={"chat": {"connection": "good"}},
        environment_variables={"UNUSED": "1"}))
    assert pf.runs.stream(again).get_status() == "Finished"
    assert list(pf.get_details(again)["outputs.answer"]) == ["echo: echo: One?", "echo: echo: Two?"]

    with pytest.raises(TypeError, match="resources"):
        Run(flow=str(flow), resources={"instance_type": "x"})
