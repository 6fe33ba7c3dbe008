"""The ``pf`` command of the compatibility package: prompt flow's command lines run unchanged, as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PF = str(Path(sys.executable).with_name("pf"))

FLOW = {
    "flow.dag.yaml": "inputs: {q: {type: string}}\noutputs: {answer: {type: string, reference: '${up.output}'}}\n"
                     "nodes:\n- name: up\n  type: python\n  source: {type: code, path: up.py}\n"
                     "  inputs: {q: '${inputs.q}'}\n",
    "up.py": "from promptflow import tool\n\n@tool\ndef up(q: str) -> str:\n    return q.upper()\n",
}
GRADER = {
    "flow.flex.yaml": "entry: grade:Grader\n",
    "grade.py": "class Grader:\n    def __call__(self, answer: str, truth: str):\n        return {'ok': answer == truth}\n\n"
                "    def __aggregate__(self, results):\n        return {'accuracy': sum(r['ok'] for r in results) / len(results)}\n",
}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def pf(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["HEADRACE_HOME"] = str(tmp_path / "home")

    def run(*args: str, code: int = 0) -> str:
        done = subprocess.run([PF, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert done.returncode == code, (done.stdout, done.stderr)
        return done.stdout if code == 0 else done.stderr

    return run


def test_pf_flow_test_then_a_batch_run_and_its_evaluation(pf, tmp_path: Path) -> None:
    flow, grader = _write(tmp_path / "upper", FLOW), _write(tmp_path / "grader", GRADER)
    assert json.loads(pf("flow", "test", "--flow", str(flow), "--inputs", "q=hello")) == {"answer": "HELLO"}
    data = tmp_path / "data.jsonl"
    data.write_text('{"q": "a", "truth": "A"}\n{"q": "b", "truth": "x"}\n')
    base = json.loads(pf("run", "create", "--flow", str(flow), "--data", str(data), "--column-mapping",
                         "q=${data.q}"))
    assert base["status"] == "Completed" and base["lines_completed"] == 2
    details = json.loads(pf("run", "show-details", "--name", base["name"]))
    assert [(r["inputs.q"], r["outputs.answer"]) for r in details] == [("a", "A"), ("b", "B")]
    graded = json.loads(pf("run", "create", "--flow", str(grader), "--data", str(data), "--run", base["name"],
                           "--column-mapping", "answer=${run.outputs.answer}", "truth=${data.truth}"))
    assert graded["status"] == "Completed"
    assert json.loads(pf("run", "show-metrics", "--name", graded["name"])) == {"accuracy": 0.5}
    listed = json.loads(pf("run", "list"))
    assert {r["name"] for r in listed} == {base["name"], graded["name"]}


def test_pf_run_create_from_a_run_yaml(pf, tmp_path: Path) -> None:
    _write(tmp_path / "upper", FLOW)
    (tmp_path / "data.jsonl").write_text('{"q": "z"}\n')
    (tmp_path / "run.yaml").write_text("flow: upper\ndata: data.jsonl\ncolumn_mapping:\n  q: ${data.q}\n")
    assert json.loads(pf("run", "create", "--file", str(tmp_path / "run.yaml")))["status"] == "Completed"


def test_pf_connection_create_from_prompt_flows_yaml_with_set(pf, tmp_path: Path) -> None:
    (tmp_path / "aoai.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/promptflow/latest/AzureOpenAIConnection.schema.json\n"
        "name: open_ai_connection\ntype: azure_open_ai\napi_key: '<user-input>'\n"
        "api_base: https://example.openai.azure.com\napi_type: azure\napi_version: '2024-02-01'\n")
    made = json.loads(pf("connection", "create", "--file", str(tmp_path / "aoai.yml"), "--set", "api_key=sk-1"))
    assert (made["name"], made["type"], made["base_url"]) == ("open_ai_connection", "azure_openai",
                                                               "https://example.openai.azure.com")
    assert "sk-1" not in json.dumps(made)
    shown = json.loads(pf("connection", "show", "--name", "open_ai_connection"))
    assert shown["has_api_key"] is True
    (tmp_path / "custom.yml").write_text("name: bing\ntype: custom\nconfigs: {endpoint: https://b}\n"
                                         "secrets: {key: s3cret}\n")
    assert json.loads(pf("connection", "create", "-f", str(tmp_path / "custom.yml")))["type"] == "custom"
    assert {c["name"] for c in json.loads(pf("connection", "list"))} == {"open_ai_connection", "bing"}


def test_pf_failures_exit_non_zero_and_say_why(pf, tmp_path: Path) -> None:
    (tmp_path / "c.yml").write_text("name: x\ntype: serp\n")
    assert "type of azure_open_ai" in pf("connection", "create", "-f", str(tmp_path / "c.yml"), code=1)
    assert "neither flow.yaml nor flow.dag.yaml" in pf("flow", "test", "--flow", str(tmp_path), code=1)
    assert "nope" in pf("run", "show", "--name", "nope", code=1)
    pf("upload", code=2)
