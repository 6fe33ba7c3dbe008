"""``import_promptflow`` and its CLI command: a promptflow-shaped chat-with-wikipedia flow, and edge cases."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from headrace.cli.flow_import import import_promptflow as import_command
from headrace.errors import FlowDefinitionError, FlowError
from headrace.flows.importer import import_promptflow
from headrace.flows.spec import load_spec

FIXTURE = Path(__file__).parent / "promptflow" / "chat-with-wikipedia"


@pytest.fixture
def pf_flow(tmp_path: Path) -> Path:
    """A copy of the promptflow-shaped chat-with-wikipedia flow (the tests may rewrite it)."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "chat-with-wikipedia"))


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return folder


def test_chat_with_wikipedia_converts_completely_into_a_valid_flow(pf_flow, tmp_path):
    out = tmp_path / "converted"
    report = import_promptflow(pf_flow, out)
    assert report.unconverted == []
    assert report.written[0] == out / "flow.yaml"
    assert {p.name for p in report.written} >= {
        "flow.yaml", "extract_query_from_question.jinja2", "augmented_chat.jinja2", "get_wiki_url.py",
        "search_result_from_url.py", "process_search_result.py", "requirements.txt", "data.jsonl"}
    assert not (out / "flow.dag.yaml").exists()

    flow = yaml.safe_load((out / "flow.yaml").read_text())
    assert flow["inputs"] == {
        "chat_history": {"type": "list", "default": [], "is_chat_history": True},
        "question": {"type": "string", "default": "What is ChatGPT?", "is_chat_input": True},
    }
    assert flow["outputs"] == {"answer": {"type": "string", "reference": "${augmented_chat.output}",
                                          "is_chat_output": True}}
    assert [n["name"] for n in flow["nodes"]] == ["extract_query_from_question", "get_wiki_url",
                                                  "search_result_from_url", "process_search_result",
                                                  "augmented_chat"]
    first = flow["nodes"][0]
    assert first["type"] == "llm" and first["connection"] == "open_ai_connection"
    assert first["source"] == {"type": "code", "path": "extract_query_from_question.jinja2"}
    assert first["inputs"]["question"] == "${inputs.question}"  # ${flow.question} is an old alias
    assert first["inputs"]["chat_history"] == "${inputs.chat_history}"
    assert not {"provider", "module", "api"} & set(first)
    assert flow["nodes"][1]["inputs"] == {"entity": "${extract_query_from_question.output}", "count": "2"}

    warnings = "\n".join(report.warnings)
    assert "provider and module dropped" in warnings
    assert "pip install -r requirements.txt" in warnings
    assert "headrace connection create" in warnings and "open_ai_connection" in warnings

    assert (out / "get_wiki_url.py").read_text().count("from headrace.flows import tool\n") == 1
    assert "from headrace.flows import tool\n" in (out / "search_result_from_url.py").read_text()
    assert "from headrace.flows import tool\n" in (out / "process_search_result.py").read_text()
    assert "promptflow" not in "".join(p.read_text() for p in out.glob("*.py"))
    assert "from promptflow.core import tool" in (pf_flow / "get_wiki_url.py").read_text()  # source untouched

    spec = load_spec(out)  # the engine accepts the result as is
    assert [n.name for n in spec.nodes][-1] == "augmented_chat"
    assert spec.inputs["question"].is_chat_input and spec.outputs["answer"].is_chat_output


def test_importing_in_place_adds_flow_yaml_and_rewrites_the_tools(pf_flow):
    report = import_promptflow(pf_flow)
    assert report.unconverted == []
    assert report.written[0] == pf_flow / "flow.yaml"
    assert {p.name for p in report.written[1:]} == {"get_wiki_url.py", "search_result_from_url.py",
                                                    "process_search_result.py"}
    assert (pf_flow / "flow.dag.yaml").exists()
    assert "from headrace.flows import tool" in (pf_flow / "process_search_result.py").read_text()
    load_spec(pf_flow)

    with pytest.raises(FlowError, match=r"flow\.yaml exists already; pass overwrite=True \(--force\)"):
        import_promptflow(pf_flow)
    again = import_promptflow(pf_flow, overwrite=True)
    assert again.written == [pf_flow / "flow.yaml"]  # the tools were rewritten the first time


EDGE_DAG = """
    inputs:
      text: {type: string, enum: [a, b]}
      picture: {type: image}
      report_path: {type: file_path, default: out.txt}
    outputs:
      summary: {type: string, reference: "${summarize.output}", evaluation_only: true}
      score: {reference: "${flow.text}"}
    environment_variables: {PF_WORKER_COUNT: "2", OPENAI_API_KEY: "${my_conn.api_key}"}
    additional_includes: [../shared/helpers.py]
    node_variants:
      summarize:
        default_variant_id: variant_1
        variants:
          variant_0:
            node: {type: llm, source: {type: code, path: short.jinja2}, connection: c0, api: chat,
                   inputs: {deployment_name: gpt-4, text: "${inputs.text}"}}
          variant_1:
            node: {type: llm, source: {type: code, path: long.jinja2}, connection: c1, api: completion,
                   inputs: {deployment_name: gpt-4, text: "${inputs.text}"}}
    nodes:
    - name: summarize
      use_variants: true
    - name: search
      type: python
      source: {type: package, tool: promptflow.tools.serpapi.SerpAPI.search}
      inputs: {query: "${inputs.text}", connection: serp}
    - name: chat
      type: custom_llm
      source: {type: package_with_prompt, tool: promptflow.tools.llm.llm, path: chat.jinja2}
      inputs: {connection: c1, api: chat, deployment_name: gpt-4o, text: "${inputs.text}"}
    - name: vision
      type: custom_llm
      source: {type: package_with_prompt, tool: my_pkg.tools.vision, path: chat.jinja2}
      inputs: {text: "${inputs.text}"}
    - name: grade
      type: python
      source: {type: code, path: grade.py}
      enable_cache: true
      activate: {when: "${flow.text}", is: a}
      inputs: {text: "${chat.output}"}
    - name: accuracy
      type: python
      source: {type: code, path: grade.py}
      aggregation: true
      inputs: {grades: "${grade.output}"}
    """
GRADE_PY = """
    from promptflow.core import tool, log_metric  # both portable
    from promptflow.connections import CustomConnection
    import promptflow


    @tool
    def grade(text: str) -> float:
        return 1.0
    """


def test_edge_cases_are_converted_with_warnings_or_listed_as_unconverted(tmp_path):
    write_files(tmp_path / "shared", {"helpers.py": "VALUE = 1\n"})
    src = write_files(tmp_path / "edge", {
        "flow.dag.yaml": EDGE_DAG, "grade.py": GRADE_PY, "short.jinja2": "x",
        "long.jinja2": "# user:\n{{ text }}", "chat.jinja2": "{{ text }}",
        ".promptflow/flow.tools.json": "{}"})
    out = tmp_path / "out"
    report = import_promptflow(src, out)

    unconverted = "\n".join(report.unconverted)
    assert "node 'search': package tool 'promptflow.tools.serpapi.SerpAPI.search'" in unconverted
    assert "node 'vision': package tool 'my_pkg.tools.vision' (custom_llm" in unconverted
    assert "input 'picture': type 'image' has no headrace equivalent" in unconverted
    assert len(report.unconverted) == 3

    warnings = "\n".join(report.warnings)
    assert "node 'summarize': api 'completion' became a chat call" in warnings
    assert "node 'chat': the built-in LLM tool (promptflow.tools.llm.llm) became an llm node" in warnings
    assert "node 'grade': enable_cache dropped" in warnings
    assert "input 'text': 'enum' dropped" in warnings
    assert "input 'report_path': type file_path became string" in warnings
    assert "output 'summary': evaluation_only dropped" in warnings
    assert "additional_includes: '../shared/helpers.py' was copied" in warnings
    assert "grade.py:2: 'from promptflow.connections import CustomConnection' left as is" in warnings
    assert "grade.py:3: 'import promptflow' left as is" in warnings

    flow_text = (out / "flow.yaml").read_text()
    assert flow_text.startswith("# Converted from flow.dag.yaml (prompt flow)")
    assert "# original node 'search':" in flow_text and "#   name: search" in flow_text
    flow = yaml.safe_load(flow_text)
    nodes = {n["name"]: n for n in flow["nodes"]}
    assert list(nodes) == ["summarize", "chat", "grade", "accuracy"]
    assert nodes["summarize"] == {
        "name": "summarize", "type": "llm", "source": {"type": "code", "path": "long.jinja2"},
        "connection": "c1", "inputs": {"deployment_name": "gpt-4", "text": "${inputs.text}"}}
    assert flow["node_variants"]["summarize"]["default_variant_id"] == "variant_1"
    assert flow["node_variants"]["summarize"]["variants"]["variant_0"] == {"node": {
        "type": "llm", "source": {"type": "code", "path": "short.jinja2"}, "connection": "c0",
        "inputs": {"deployment_name": "gpt-4", "text": "${inputs.text}"}}}
    assert nodes["chat"]["type"] == "llm" and nodes["chat"]["connection"] == "c1"
    assert nodes["chat"]["inputs"] == {"deployment_name": "gpt-4o", "text": "${inputs.text}"}
    assert nodes["grade"]["activate"] == {"when": "${inputs.text}", "is": "a"}
    assert nodes["accuracy"]["aggregation"] is True
    assert flow["outputs"]["score"] == {"type": "string", "reference": "${inputs.text}"}
    assert flow["inputs"]["report_path"] == {"type": "string", "default": "out.txt"}
    assert flow["environment_variables"] == {"PF_WORKER_COUNT": "2", "OPENAI_API_KEY": "${my_conn.api_key}"}

    assert (out / "helpers.py").read_text() == "VALUE = 1\n"
    assert not (out / ".promptflow").exists()
    grade = (out / "grade.py").read_text()
    assert grade.startswith("from headrace.flows import tool, log_metric  # both portable\n"
                            "from promptflow.connections import CustomConnection\n")


def test_missing_or_unusable_flows_give_clear_errors(tmp_path):
    with pytest.raises(FlowError, match="holds no flow.dag.yaml"):
        import_promptflow(tmp_path)
    flex = write_files(tmp_path / "flex", {"flow.flex.yaml": "entry: app:run\n"})
    with pytest.raises(FlowError, match="is a flex flow"):
        import_promptflow(flex)
    broken = write_files(tmp_path / "broken", {"flow.dag.yaml": "inputs:\n  q: [unclosed\n"})
    with pytest.raises(FlowDefinitionError, match="line 3: not valid YAML"):
        import_promptflow(broken)
    shapeless = write_files(tmp_path / "shapeless", {"flow.dag.yaml": "nodes: {a: 1}\ninputs: []\n"})
    with pytest.raises(FlowDefinitionError) as info:
        import_promptflow(shapeless)
    assert info.value.problems == ["nodes must be a list of nodes", "inputs must be a mapping"]
    assert not (shapeless / "flow.yaml").exists()


def cli() -> typer.Typer:
    """The command as the lead registers it, on an app of its own."""
    app = typer.Typer()
    app.command()(import_command)
    return app


def test_the_command_prints_what_it_wrote_and_exits_0_when_everything_converted(pf_flow, tmp_path):
    result = CliRunner().invoke(cli(), [str(pf_flow), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path / 'out'}:" in result.output
    assert "  flow.yaml\n" in result.output and "  get_wiki_url.py\n" in result.output
    assert "warning(s):" in result.output and "open_ai_connection" in result.output
    assert "NOT converted" not in result.output
    again = CliRunner().invoke(cli(), [str(pf_flow), "--out", str(tmp_path / "out")])
    assert again.exit_code == 1 and isinstance(again.exception, FlowError)  # the CLI's main prints it
    assert CliRunner().invoke(cli(), [str(pf_flow), "--out", str(tmp_path / "out"), "--force"]).exit_code == 0


def test_the_command_exits_1_and_lists_what_it_could_not_convert(tmp_path):
    src = write_files(tmp_path / "pkg", {"flow.dag.yaml": """
        inputs: {q: {type: string}}
        outputs: {a: {type: string, reference: "${search.output}"}}
        nodes:
        - name: search
          type: python
          source: {type: package, tool: promptflow.tools.serpapi.SerpAPI.search}
          inputs: {query: "${inputs.q}"}
        """})
    result = CliRunner().invoke(cli(), [str(src)])
    assert result.exit_code == 1
    assert "NOT converted (1)" in result.output
    assert "node 'search': package tool 'promptflow.tools.serpapi.SerpAPI.search'" in result.output
    assert (src / "flow.yaml").read_text().startswith("# Converted from flow.dag.yaml")


def test_the_imported_flow_runs_on_headrace(pf_flow, tmp_path, fake_llm):
    from headrace.flows import load_flow
    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner

    import_promptflow(pf_flow, tmp_path / "out")
    fake_llm.script("Output: Paris population", "About two million people live in Paris.\nSOURCES: x")
    runner = OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, api_key="k"), environ={})
    history = [{"inputs": {"question": "What is the capital of France?"}, "outputs": {"answer": "Paris."}}]
    result = load_flow(tmp_path / "out", llm=runner).run(question="How many people live there?",
                                                          chat_history=history)
    assert result.error is None, result.error
    assert result.outputs == {"answer": "About two million people live in Paris.\nSOURCES: x"}
    query, answer = fake_llm.requests
    assert query.body["model"] == "gpt-3.5-turbo"
    assert "Human: What is the capital of France?" in query.messages[-1]["content"]
    assert [m["role"] for m in answer.messages] == ["system", "user", "assistant", "user"]
    assert "Source: https://en.wikipedia.org/w/index.php?search=Output%3A+Paris+population" in (
        answer.messages[0]["content"])
    assert answer.messages[0]["content"].count("Content: Sentence 1 about") == 2  # count "2" became an int


def test_a_test_script_next_to_the_flow_does_not_fail_the_import(tmp_path):
    # A flow folder often ships its own tests (eval_test.py importing promptflow.azure); no node loads them.
    src = write_files(tmp_path / "pf", {
        "flow.dag.yaml": """
            inputs: {q: {type: string}}
            outputs: {a: {type: string, reference: "${t.output}"}}
            nodes:
            - {name: t, type: python, source: {type: code, path: t.py}, inputs: {q: "${inputs.q}"}}
        """,
        "t.py": "from promptflow.core import tool\n\n@tool\ndef t(q: str) -> str:\n    return q\n",
        "t_test.py": "import promptflow.azure as azure\n",
        "test_flow.py": "from promptflow.azure import PFClient\n",
    })
    report = import_promptflow(src, tmp_path / "out")
    assert report.unconverted == []
    warnings = "\n".join(report.warnings)
    assert "t_test.py:1" in warnings and "test_flow.py:1" in warnings and "a test script" in warnings
    (src / "t.py").write_text("from promptflow.azure import PFClient\n" + (src / "t.py").read_text())
    report = import_promptflow(src, tmp_path / "out2")
    assert [u for u in report.unconverted if "t.py:1" in u and "promptflow.azure" in u]
