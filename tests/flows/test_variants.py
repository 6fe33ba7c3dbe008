"""``node_variants``: choose a node's variant for a test, a batch run or a comparison of variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headrace.errors import FlowDefinitionError, FlowInputError
from headrace.flows.executor import load_flow
from headrace.flows.importer import import_promptflow
from headrace.flows.spec import load_spec
from headrace.flows.variants import parse_variant
from headrace.sdk.flow_runs import flow_summary, run_flow

DAG = """
inputs:
  text: {type: string}
outputs:
  answer: {type: string, reference: "${shape.output}"}
node_variants:
  shape:
    default_variant_id: upper
    variants:
      upper:
        node: {type: python, source: {type: code, path: upper.py}, inputs: {text: "${inputs.text}"}}
      title:
        node: {type: python, source: {type: code, path: title.py}, inputs: {text: "${inputs.text}"}}
nodes:
- name: shape
  use_variants: true
"""
UPPER = "from promptflow import tool\n\n\n@tool\ndef upper(text: str) -> str:\n    return text.upper()\n"
TITLE = "from promptflow import tool\n\n\n@tool\ndef title(text: str) -> str:\n    return text.title()\n"


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    src = tmp_path / "pf"
    src.mkdir()
    (src / "flow.dag.yaml").write_text(DAG)
    (src / "upper.py").write_text(UPPER)
    (src / "title.py").write_text(TITLE)
    out = tmp_path / "shape"
    report = import_promptflow(src, out)
    assert not report.unconverted
    return out


def test_the_default_variant_runs_unless_another_is_chosen(flow: Path) -> None:
    assert load_flow(flow)(text="two words") == {"answer": "TWO WORDS"}
    assert load_flow(flow, variant="${shape.title}")(text="two words") == {"answer": "Two Words"}
    assert load_spec(flow, variant="${shape.title}").variant == "${shape.title}"


def test_unknown_variants_are_refused_listing_those_there_are(flow: Path) -> None:
    with pytest.raises(FlowInputError, match="no variant 'lower' .*its variants: upper, title"):
        load_spec(flow, variant="${shape.lower}")
    with pytest.raises(FlowInputError, match="node 'other' has no variants .*shape: upper, title"):
        load_spec(flow, variant="${other.v}")
    with pytest.raises(FlowInputError, match="NODE.VARIANT_ID"):
        parse_variant("shape.title")


def test_a_broken_node_variants_section_is_a_definition_problem(flow: Path) -> None:
    text = (flow / "flow.yaml").read_text().replace("default_variant_id: upper", "default_variant_id: nope")
    (flow / "flow.yaml").write_text(text)
    with pytest.raises(FlowDefinitionError, match="default_variant_id 'nope' is not one of upper, title"):
        load_spec(flow)


def test_the_cli_tests_a_variant_and_compares_variants_in_one_command(workspace, flow: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from headrace.cli.main import app

    home = str(workspace.home)
    result = CliRunner().invoke(app, ["flow", "test", str(flow), "--inputs", "text=a b", "--variant", "${shape.title}",
                                      "--json", "--home", home])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["outputs"] == {"answer": "A B"}

    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "x y"}\n{"text": "hello there"}\n')
    result = CliRunner().invoke(app, ["flow", "run", str(flow), "--data", str(data), "--variant", "${shape.upper}",
                                      "--variant", "${shape.title}", "--json", "--home", home])
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [r["variant"] for r in runs] == ["${shape.upper}", "${shape.title}"]
    assert all(r["status"] == "Finished" and r["lines_completed"] == 2 for r in runs)
    answers = []
    for r in runs:
        folder = Path(r["outputs"]["local_path"])
        answers.append([json.loads(line)["outputs"]["answer"] for line in (folder / "outputs.jsonl").read_text().splitlines()])
    assert answers == [["X Y", "HELLO THERE"], ["X Y", "Hello There"]]


def test_run_flow_records_the_variant_on_the_run(workspace, flow: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "a b"}\n')
    run = run_flow(workspace, flow, data, variant="${shape.title}")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.tags["headrace.flow_variant"] == "${shape.title}"
    assert flow_summary(run)["variant"] == "${shape.title}"


def test_pfclient_takes_variant_as_prompt_flow_does(flow: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from promptflow.client import PFClient

    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "home"))
    pf = PFClient()
    assert pf.test(flow=str(flow), inputs={"text": "a b"}, variant="${shape.title}") == {"answer": "A B"}
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "a b"}\n')
    run = pf.run(flow=str(flow), data=str(data), column_mapping={"text": "${data.text}"}, variant="${shape.title}")
    rows = pf.get_details(run).to_dict("records")
    assert [r["outputs.answer"] for r in rows] == ["A B"]
