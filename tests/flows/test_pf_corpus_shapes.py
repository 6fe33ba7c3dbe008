"""Shapes of prompt flow projects that failed when the public prompt flow repository was measured
(scripts/promptflow_corpus.py): each test is a small flow of our own in the shape that failed.
"""

from __future__ import annotations

import json
from pathlib import Path

from fake_llm import FakeLLM

from headrace.flows.connections import Connection
from headrace.flows.flex import load_flex
from headrace.flows.prompty import load_prompty


def test_a_flex_dataclass_output_with_generator_fields_is_joined_field_by_field(tmp_path: Path) -> None:
    # dataclasses.asdict deep-copies fields, and a generator cannot be copied: the line used to fail.
    (tmp_path / "flow.flex.yaml").write_text("entry: counting:count\n")
    (tmp_path / "counting.py").write_text(
        "from dataclasses import dataclass\n\n\n@dataclass\nclass Counts:\n    up: str\n    down: str\n    n: int\n\n\n"
        "def count(n: int = 3) -> Counts:\n"
        "    return Counts(up=(str(i) for i in range(n)), down=(str(i) for i in reversed(range(n))), n=n)\n")
    assert load_flex(tmp_path)(n=4) == {"up": "0123", "down": "3210", "n": 4}


def test_a_flex_sample_may_read_its_inputs_and_init_from_files(tmp_path: Path) -> None:
    (tmp_path / "flow.flex.yaml").write_text(
        "entry: greeter:Greeter\nsample:\n  inputs: ${file:./inputs.json}\n  init: ${file:init.json}\n")
    (tmp_path / "inputs.json").write_text(json.dumps({"name": "Ada"}))
    (tmp_path / "init.json").write_text(json.dumps({"greeting": "Hello"}))
    (tmp_path / "greeter.py").write_text(
        "class Greeter:\n    def __init__(self, greeting: str):\n        self.greeting = greeting\n\n"
        "    def __call__(self, name: str) -> str:\n        return f'{self.greeting}, {name}'\n")
    flex = load_flex(tmp_path)
    assert flex.sample == {"name": "Ada"}
    assert flex(**flex.sample) == "Hello, Ada"


def test_a_prompty_in_the_first_format_names_its_connection_beside_the_parameters(
        tmp_path: Path, fake_llm: FakeLLM) -> None:
    # prompt flow's first Prompty format: model.connection, and the deployment among the parameters.
    path = tmp_path / "old.prompty"
    path.write_text("---\nname: Old\nmodel:\n  api: chat\n  connection: my_aoai\n  parameters:\n"
                    "    deployment_name: gpt-35-turbo\n    max_tokens: 16\ninputs:\n  text:\n    type: string\n---\n"
                    "user:\nSay {{text}}.\n")
    seen = []

    def lookup(name: str) -> Connection:
        seen.append(name)
        return Connection(name, "azure_openai", fake_llm.url, api_key="k", api_version="2024-10-21")

    prompty = load_prompty(path, lookup=lookup)
    assert prompty(text="hi") == "echo: Say hi."
    assert seen == ["my_aoai"]
    assert fake_llm.last.deployment == "gpt-35-turbo"
    assert "deployment_name" not in fake_llm.last.body and fake_llm.last.body["max_tokens"] == 16


def test_a_class_based_tool_takes_its_init_arguments_from_the_node_inputs(tmp_path: Path) -> None:
    from headrace.flows import load_flow

    (tmp_path / "flow.yaml").write_text(
        "inputs: {name: {type: string, default: World}}\n"
        "outputs: {out: {reference: '${greet.output}'}, again: {reference: '${shout.output}'}}\n"
        "nodes:\n"
        "- {name: greet, type: python, source: {type: code, path: greeter.py}, function: greet,"
        " inputs: {greeting: Hello, times: '2', name: '${inputs.name}'}}\n"
        "- {name: shout, type: python, source: {type: code, path: greeter.py}, function: loud,"
        " inputs: {greeting: Hey, times: 1, name: '${greet.output}'}}\n")
    (tmp_path / "greeter.py").write_text(
        "from headrace.flows import tool\n\n\nclass Greeter:\n    made = 0\n\n"
        "    def __init__(self, greeting: str, times: int = 1):\n"
        "        Greeter.made += 1\n        self.greeting, self.times = greeting, times\n\n"
        "    @tool\n    def greet(self, name: str) -> str:\n        return ' '.join([f'{self.greeting} {name}'] * self.times)\n\n"
        "    @tool\n    async def loud(self, name: str) -> str:\n        return f'{self.greeting} {name}!'.upper()\n")
    flow = load_flow(tmp_path)
    result = flow.run(name="Ada")
    assert result.error is None, result.error
    assert result.outputs == {"out": "Hello Ada Hello Ada", "again": "HEY HELLO ADA HELLO ADA!"}
    assert flow.run(name="Bo").outputs["out"] == "Hello Bo Hello Bo"


def test_a_flex_class_entry_typed_with_a_connection_class_receives_the_named_connection(tmp_path: Path) -> None:
    (tmp_path / "flow.flex.yaml").write_text("entry: flow:Flow\n")
    (tmp_path / "flow.py").write_text(
        "from headrace.flows.connections import Connection\n\n\nclass Flow:\n"
        "    def __init__(self, connection: Connection, note: str = ''):\n        self.connection = connection\n\n"
        "    def __call__(self) -> str:\n        return f'{self.connection.name} at {self.connection.base_url}'\n")
    conns = {"llm": Connection("llm", "openai", "http://127.0.0.1:9/v1", api_key="k")}
    flow = load_flex(tmp_path, {"connection": "llm", "note": "llm"}, connect=conns.__getitem__)
    assert flow() == "llm at http://127.0.0.1:9/v1"


def test_an_imported_flow_passes_flow_inputs_as_declared_and_types_only_literals(tmp_path: Path) -> None:
    from headrace.flows import load_flow

    flow_yaml = ("inputs: {tokens: {type: list}}\noutputs: {out: {reference: '${show.output}'}}\nnodes:\n"
                 "- {name: show, type: python, source: {type: code, path: show.py},"
                 " inputs: {tokens: '${inputs.tokens}', times: '2'}}\n")
    (tmp_path / "show.py").write_text(
        "from headrace.flows import tool\n\n\n@tool\ndef show(tokens: str, times: int) -> str:\n"
        "    return f'{type(tokens).__name__} {tokens} x{times}'\n")
    (tmp_path / "flow.yaml").write_text("compat: promptflow\n" + flow_yaml)
    result = load_flow(tmp_path).run(tokens=[1, 2])
    assert result.error is None, result.error
    assert result.outputs == {"out": "list [1, 2] x2"}  # as prompt flow: the literal '2' became 2
    (tmp_path / "flow.yaml").write_text(flow_yaml)  # a native flow types flow inputs too, and says so
    assert "parameter 'tokens': expected str, got list" in str(load_flow(tmp_path).run(tokens=[1, 2]).error)


def test_an_imported_flow_leaves_an_output_of_an_aggregation_node_out_of_the_line(tmp_path: Path) -> None:
    from headrace.errors import FlowDefinitionError
    from headrace.flows import load_flow

    flow_yaml = ("inputs: {n: {type: int}}\n"
                 "outputs: {half: {reference: '${half.output}'}, total: {reference: '${total.output}'}}\nnodes:\n"
                 "- {name: half, type: python, source: {type: code, path: t.py}, function: half, inputs: {n: '${inputs.n}'}}\n"
                 "- {name: total, type: python, source: {type: code, path: t.py}, function: total, aggregation: true,"
                 " inputs: {values: '${half.output}'}}\n")
    (tmp_path / "t.py").write_text("from headrace.flows import tool\n\n\n@tool\ndef half(n: int) -> float:\n"
                                   "    return n / 2\n\n\n@tool\ndef total(values: list) -> float:\n"
                                   "    return sum(values)\n")
    (tmp_path / "flow.yaml").write_text("compat: promptflow\n" + flow_yaml)
    assert load_flow(tmp_path).run(n=3).outputs == {"half": 1.5}
    (tmp_path / "flow.yaml").write_text(flow_yaml)
    try:
        load_flow(tmp_path)
    except FlowDefinitionError as exc:
        assert "refers to aggregation node 'total'" in str(exc)
    else:
        raise AssertionError("a native flow must refuse the output")


def test_a_prompty_sample_may_be_a_bare_json_file_name(tmp_path: Path) -> None:
    (tmp_path / "sample.json").write_text(json.dumps({"question": "Why?", "chat_history": []}))
    (tmp_path / "chat.prompty").write_text("---\nname: Chat\nmodel:\n  api: chat\ninputs:\n  question:\n"
                                           "    type: string\n  chat_history:\n    type: list\n"
                                           "sample: sample.json\n---\nuser:\n{{question}}\n")
    assert load_prompty(tmp_path / "chat.prompty").sample == {"question": "Why?", "chat_history": []}


def test_a_flex_flow_imports_its_additional_includes(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "corpus_shared_words.py").write_text("def shout(text):\n    return text.upper()\n")
    flow = tmp_path / "flow"
    flow.mkdir()
    (flow / "flow.flex.yaml").write_text("entry: main:run\nadditional_includes:\n  - ../shared/corpus_shared_words.py\n")
    (flow / "main.py").write_text("from corpus_shared_words import shout\n\n\ndef run(text: str) -> str:\n"
                                  "    return shout(text)\n")
    assert load_flex(flow)(text="hi") == "HI"
