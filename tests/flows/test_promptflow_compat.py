"""The ``promptflow`` compatibility package (compat/promptflow): prompt flow's import surface over headrace.

Tool files written for prompt flow import ``promptflow.*`` and take connection objects; here they run
unchanged against the fake OpenAI-compatible server. The package refuses to load next to Microsoft's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from headrace.errors import NotFoundError
from headrace.flows import load_flow
from headrace.flows.connections import Connection
from headrace.flows.llm_node import OpenAIRunner

WriteFlow = Callable[..., Path]


@pytest.fixture
def runner(fake_llm: FakeLLM) -> OpenAIRunner:
    stored = {
        "open_ai_connection": Connection("open_ai_connection", "openai", fake_llm.base_url, "sk-test"),
        "aoai": Connection("aoai", "azure_openai", fake_llm.url, "az-key", api_version="2024-02-01"),
        "search": Connection("search", "custom", "", extra={"configs": {"endpoint": "https://s.example"}},
                             secrets={"key": "s3cret"}),
    }

    def lookup(name: str) -> Connection:
        if name not in stored:
            raise NotFoundError("connection", name)
        return stored[name]

    return OpenAIRunner(lookup, environ={})


TOOLS = """
from typing import Union

from promptflow.connections import AzureOpenAIConnection, CustomConnection, OpenAIConnection
from promptflow.core import tool
from promptflow.tools.aoai import chat as aoai_chat
from promptflow.tools.openai import chat as openai_chat

PROMPT = "# system:\\nBe brief.\\n# user:\\n{{ question }}{{ not_given }}"


@tool
def settings(conn: CustomConnection) -> dict:
    return {"endpoint": conn.configs["endpoint"], "key": conn.secrets["key"], "attr": conn.endpoint,
            "type": type(conn).__name__}


@tool
def ask(connection: Union[OpenAIConnection, AzureOpenAIConnection], question: str, max_tokens: str) -> str:
    if isinstance(connection, AzureOpenAIConnection):
        return aoai_chat(connection, PROMPT, deployment_name="gpt-4o", max_tokens=max_tokens, question=question)
    return openai_chat(connection, PROMPT, model="gpt-4o-mini", max_tokens=max_tokens, question=question)
"""


def flow_files(connection: str) -> dict[str, str]:
    return {
        "flow.yaml": f"""
            compat: promptflow
            inputs: {{question: {{type: string}}}}
            outputs:
              settings: {{reference: "${{settings.output}}"}}
              answer: {{reference: "${{ask.output}}"}}
            nodes:
            - name: settings
              type: python
              source: tools.py
              function: settings
              inputs: {{conn: search}}
            - name: ask
              type: python
              source: tools.py
              function: ask
              inputs: {{connection: {connection}, question: "${{inputs.question}}", max_tokens: "64"}}
        """,
        "tools.py": TOOLS,
    }


def test_tools_get_connection_objects_and_call_the_llm_through_promptflow_tools(
        write_flow: WriteFlow, runner: OpenAIRunner, fake_llm: FakeLLM) -> None:
    result = load_flow(write_flow("pf", flow_files("open_ai_connection")), llm=runner).run(question="Hi?")
    assert result.error is None, result.error
    assert result.outputs["settings"] == {"endpoint": "https://s.example", "key": "s3cret",
                                          "attr": "https://s.example", "type": "CustomConnection"}
    assert result.outputs["answer"] == "echo: Hi?"
    assert fake_llm.last.body["max_tokens"] == 64 and fake_llm.last.body["model"] == "gpt-4o-mini"
    assert fake_llm.last.headers["authorization"] == "Bearer sk-test"


def test_a_union_of_connection_classes_gets_the_one_of_the_stored_type(
        write_flow: WriteFlow, runner: OpenAIRunner, fake_llm: FakeLLM) -> None:
    result = load_flow(write_flow("pf_az", flow_files("aoai")), llm=runner).run(question="Hi?")
    assert result.error is None, result.error
    assert fake_llm.last.deployment == "gpt-4o" and fake_llm.last.headers["api-key"] == "az-key"


def test_promptflow_and_promptflow_core_export_the_tool_decorator_and_log_metric() -> None:
    import promptflow
    import promptflow.core

    from headrace.flows import log_metric, tool

    assert promptflow.tool is tool and promptflow.core.tool is tool and promptflow.core.log_metric is log_metric
    assert promptflow.PFClient is not None and promptflow.load_flow is not None


def test_it_refuses_to_load_next_to_microsofts_promptflow(tmp_path: Path) -> None:
    (tmp_path / "promptflow_core-1.17.0.dist-info").mkdir()
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import promptflow"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode != 0
    assert "promptflow-core" in done.stderr and "pip uninstall headrace-promptflow" in done.stderr


def test_pfclient_tests_and_loads_a_prompt_flow_dag_folder(
        tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptflow.client import PFClient
    from promptflow.client import load_flow as pf_load_flow

    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HEADRACE_CONNECTION_OPEN_AI_CONNECTION_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("HEADRACE_CONNECTION_OPEN_AI_CONNECTION_API_KEY", "sk-test")
    src = tmp_path / "pf_flow"
    src.mkdir()
    (src / "flow.dag.yaml").write_text(
        "inputs:\n  text: {type: string, default: Hello}\n"
        "outputs:\n  answer: {type: string, reference: '${llm.output}'}\n"
        "nodes:\n- name: llm\n  type: llm\n  source: {type: code, path: hello.jinja2}\n"
        "  connection: open_ai_connection\n  api: chat\n"
        "  inputs: {model: gpt-4o-mini, max_tokens: '32', stop: '', text: '${inputs.text}'}\n")
    (src / "hello.jinja2").write_text("# user:\n{{ text }}\n")
    assert PFClient().test(flow=str(src), inputs={"text": "Bonjour"}) == {"answer": "echo: Bonjour"}
    assert pf_load_flow(src)(text="Hallo") == {"answer": "echo: Hallo"}
    assert fake_llm.last.body["max_tokens"] == 32 and "stop" not in fake_llm.last.body


def test_the_importer_knows_exactly_the_modules_the_package_serves() -> None:
    import pkgutil

    import promptflow

    from headrace.flows.importer import SERVED_MODULES

    public_private = {"promptflow._core", "promptflow._core.tool", "promptflow.core._flow", "promptflow._sdk",
                      "promptflow._sdk.entities"}  # prompt flow's paths
    found = {"promptflow"} | {m.name for m in pkgutil.walk_packages(promptflow.__path__, "promptflow.")
                              if not m.name.rpartition(".")[2].startswith("_") or m.name in public_private}
    assert found == SERVED_MODULES


def test_pfclient_runs_a_batch_then_evaluates_it_and_reads_details_and_metrics(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptflow.client import PFClient

    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    flow = tmp_path / "upper"
    flow.mkdir()
    (flow / "flow.dag.yaml").write_text(
        "inputs: {q: {type: string}}\noutputs: {answer: {type: string, reference: '${up.output}'}}\n"
        "nodes:\n- name: up\n  type: python\n  source: {type: code, path: up.py}\n  inputs: {q: '${inputs.q}'}\n")
    (flow / "up.py").write_text("from promptflow import tool\n\n@tool\ndef up(q: str) -> str:\n    return q.upper()\n")
    grader = tmp_path / "grade"
    grader.mkdir()
    (grader / "flow.dag.yaml").write_text(
        "inputs: {answer: {type: string}, truth: {type: string}}\n"
        "outputs: {ok: {type: bool, reference: '${grade.output}'}}\n"
        "nodes:\n- name: grade\n  type: python\n  source: {type: code, path: grade.py}\n"
        "  inputs: {answer: '${inputs.answer}', truth: '${inputs.truth}'}\n"
        "- name: accuracy\n  type: python\n  source: {type: code, path: accuracy.py}\n  aggregation: true\n"
        "  inputs: {grades: '${grade.output}'}\n")
    (grader / "grade.py").write_text(
        "from promptflow.core import tool\n\n@tool\ndef grade(answer: str, truth: str) -> bool:\n"
        "    return answer == truth\n")
    (grader / "accuracy.py").write_text(
        "from promptflow.core import log_metric, tool\n\n@tool\ndef accuracy(grades: list) -> float:\n"
        "    log_metric(key='accuracy', value=sum(grades) / len(grades))\n    return 0\n")
    data = tmp_path / "data.jsonl"
    data.write_text('{"q": "a", "truth": "A"}\n{"q": "b", "truth": "x"}\n')

    pf = PFClient()
    base = pf.run(flow=str(flow), data=str(data), column_mapping={"q": "${data.q}"})
    assert base.get_status() == "Finished"
    details = pf.get_details(base)
    rows = details.to_dict("records") if hasattr(details, "to_dict") else details
    assert [(r["inputs.q"], r["outputs.answer"]) for r in rows] == [("a", "A"), ("b", "B")]
    graded = pf.run(flow=str(grader), data=str(data), run=base,
                    column_mapping={"answer": "${run.outputs.answer}", "truth": "${data.truth}"})
    assert graded.get_status() == "Finished"
    assert pf.get_metrics(graded) == {"accuracy": 0.5}
    assert pf.get_metrics(graded.id) == {"accuracy": 0.5}


def test_connections_read_as_dicts_as_in_prompt_flow() -> None:
    from promptflow.connections import AzureOpenAIConnection, CustomConnection

    custom = CustomConnection(secrets={"api_key": "k"}, configs={"api_base": "https://x"})
    assert dict(custom) == {"api_key": "k", "api_base": "https://x"} and custom.api_base == "https://x"
    azure = AzureOpenAIConnection(api_key="k", api_base="https://a", api_version="2024-02-01")
    assert dict(azure) == {"api_key": "k", "api_base": "https://a", "api_type": "azure", "api_version": "2024-02-01"}


def test_tools_common_renders_and_parses_chat_text() -> None:
    from promptflow.tools.common import parse_chat, render_jinja_template

    text = render_jinja_template("system:\nBe brief.\nuser:\n{{ q }}{{ missing }}", q="Hi")
    assert parse_chat(text) == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]


PROMPTY = """---
name: Basic Prompt
model:
    api: chat
    configuration:
        type: azure_openai
        azure_deployment: gpt-4o
        api_key: ${env:PF_TEST_AOAI_KEY}
        azure_endpoint: ${env:PF_TEST_AOAI_ENDPOINT}
    parameters:
        max_tokens: "128"
        temperature: 0.2
        stop: ""
inputs:
  question:
    type: string
  lang:
    type: string
    default: en
sample:
  question: Who are you?
---
system:
You answer briefly in {{lang}}.{{ not_given }}

user:
{{question}}
"""


def test_a_prompty_file_runs_from_python_and_from_flow_test(
        tmp_path: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptflow.core import Prompty

    monkeypatch.setenv("PF_TEST_AOAI_KEY", "az-key")
    monkeypatch.setenv("PF_TEST_AOAI_ENDPOINT", fake_llm.url)
    path = tmp_path / "basic.prompty"
    path.write_text(PROMPTY)
    assert Prompty.load(path)(question="Hi?") == "echo: Hi?"
    body = fake_llm.last.body
    assert fake_llm.last.deployment == "gpt-4o" and fake_llm.last.headers["api-key"] == "az-key"
    assert body["max_tokens"] == 128 and "stop" not in body
    assert body["messages"][0] == {"role": "system", "content": "You answer briefly in en."}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["HEADRACE_HOME"] = str(tmp_path / "home")
    done = subprocess.run([str(Path(sys.executable).with_name("headrace")), "flow", "test", str(path), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"output": "echo: Who are you?"' in done.stdout


def test_a_json_prompty_keeps_its_declared_outputs(tmp_path: Path, fake_llm: FakeLLM) -> None:
    from headrace.flows.prompty import load_prompty

    path = tmp_path / "json.prompty"
    path.write_text(PROMPTY.replace('        stop: ""\n', "        response_format:\n          type: json_object\n")
                    .replace("sample:", "outputs:\n  name:\n    type: string\nsample:"))
    fake_llm.script('{"name": "Ada", "extra": 1}')
    prompty = load_prompty(path, environ={"PF_TEST_AOAI_KEY": "k", "PF_TEST_AOAI_ENDPOINT": fake_llm.url})
    assert prompty(question="Who?") == {"name": "Ada"}


FLEX_CLASS = """
from dataclasses import dataclass
from pathlib import Path

from promptflow.core import AzureOpenAIModelConfiguration, Prompty
from promptflow.tracing import trace
from helper import suffix


@dataclass
class Reply:
    answer: str
    tokens: int


class ChatFlow:
    def __init__(self, model_config: AzureOpenAIModelConfiguration, max_total_token: int = 4096):
        self.model_config = model_config
        self.max_total_token = max_total_token

    @trace
    def __call__(self, question: str = "default?") -> Reply:
        print("chatter from the flow")
        prompty = Prompty.load(Path(__file__).parent / "chat.prompty", model={"configuration": self.model_config})
        tokens = prompty.estimate_token_count(question=question)
        return Reply(prompty(question=question) + suffix(), min(tokens, self.max_total_token))
"""


def test_a_flex_flow_with_a_class_entry_runs_from_flow_test(
        tmp_path: Path, fake_llm: FakeLLM) -> None:
    folder = tmp_path / "flex"
    folder.mkdir()
    (folder / "flow.flex.yaml").write_text("entry: flow:ChatFlow\nsample:\n  inputs:\n    question: Sample?\n")
    (folder / "flow.py").write_text(FLEX_CLASS)
    (folder / "helper.py").write_text("def suffix():\n    return '!'\n")
    (folder / "chat.prompty").write_text(
        "---\nmodel:\n  api: chat\n  configuration: {type: azure_openai, azure_deployment: other}\n"
        "  parameters: {max_tokens: 64}\ninputs:\n  question: {type: string}\n---\nuser:\n{{question}}\n")
    (folder / "init.json").write_text(json.dumps({"model_config": {"connection": "aoai", "azure_deployment": "gpt-4o"},
                                                  "max_total_token": 5}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env.update(HEADRACE_HOME=str(tmp_path / "home"), HEADRACE_CONNECTION_AOAI_BASE_URL=fake_llm.url,
               HEADRACE_CONNECTION_AOAI_TYPE="azure_openai", HEADRACE_CONNECTION_AOAI_API_VERSION="2024-02-01",
               HEADRACE_CONNECTION_AOAI_API_KEY="az-key")
    headrace = str(Path(sys.executable).with_name("headrace"))
    done = subprocess.run([headrace, "flow", "test", str(folder), "--init", str(folder / "init.json"), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "Completed", "output": {"answer": "echo: Sample?!", "tokens": 5}}
    assert "chatter from the flow" in done.stderr
    assert fake_llm.last.deployment == "gpt-4o" and fake_llm.last.headers["api-key"] == "az-key"
    done = subprocess.run([headrace, "flow", "test", str(folder), "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 1 and "model_config" in done.stderr


def test_a_flex_flow_function_entry_joins_a_generator(tmp_path: Path) -> None:
    from headrace.flows.flex import load_flex

    folder = tmp_path / "gen"
    folder.mkdir()
    (folder / "flow.flex.yaml").write_text("entry: words:run\n")
    (folder / "words.py").write_text("def run(text: str):\n    for w in text.split():\n        yield w.upper()\n")
    assert load_flex(folder)(text="a b") == "AB"


def test_a_streaming_prompty_answers_whole_and_core_flow_serves_prompty(tmp_path: Path, fake_llm: FakeLLM) -> None:
    from promptflow.core._flow import Prompty

    from headrace.flows.prompty import load_prompty

    assert Prompty.load  # the path code imports it from
    path = tmp_path / "stream.prompty"
    path.write_text(PROMPTY.replace('        stop: ""\n', "        stream: true\n"))
    prompty = load_prompty(path, environ={"PF_TEST_AOAI_KEY": "k", "PF_TEST_AOAI_ENDPOINT": fake_llm.url})
    assert "".join(prompty(question="Hi?")) == "echo: Hi?"
    assert "stream" not in fake_llm.last.body

    async def inside_a_loop() -> str:
        return "".join(prompty(question="Async?"))

    import asyncio

    assert asyncio.run(inside_a_loop()) == "echo: Async?"
