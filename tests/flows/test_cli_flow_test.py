"""``headrace flow test`` in a real subprocess, on a flow of python and prompt nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEADRACE = str(Path(sys.executable).with_name("headrace"))

FLOW = {
    "flow.yaml": """\
        inputs:
          question: {type: string, is_chat_input: true}
          count: {type: int, default: 2}
          shout: {type: bool, default: false}
        outputs:
          answer: {reference: "${answer.output}", is_chat_output: true}
          words: {reference: "${words.output}"}
        nodes:
        - {name: words, type: python, source: tools.py, inputs: {text: "${inputs.question}", count: "${inputs.count}"}}
        - name: upper
          type: map
          over: ${words.output}
          node: {type: prompt, source: upper.jinja2, inputs: {w: "${item}", i: "${index}"}}
        - name: answer
          type: prompt
          source: answer.jinja2
          inputs: {words: "${upper.output}", shout: "${inputs.shout}"}
        """,
    "tools.py": """\
        from headrace.flows import tool

        @tool
        def words(text: str, count: int) -> list[str]:
            if text == "explode":
                raise ValueError("cannot split an explosion")
            return text.split()[:count]
        """,
    "upper.jinja2": "{{ i }}:{{ w | upper }}",
    "answer.jinja2": "{{ words | join(' ') }}{% if shout %}!{% endif %}",
}


def run_cli(*args: str, cwd: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env.update(COLUMNS="200", **extra_env)
    return subprocess.run([HEADRACE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def flow_dir(write_flow) -> Path:
    return write_flow("words", FLOW)


def test_json_output_has_outputs_and_node_traces(flow_dir):
    done = run_cli("flow", "test", str(flow_dir), "--inputs", "question=a tiny flow test", "shout=true",
                   "--json", cwd=flow_dir.parent)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "Completed"
    assert data["outputs"] == {"answer": "0:A 1:TINY!", "words": ["a", "tiny"]}
    assert data["inputs"] == {"question": "a tiny flow test", "count": 2, "shout": True}
    assert [c["output"] for c in data["nodes"]["upper"]["children"]] == ["0:A", "1:TINY"]


def test_the_table_shows_each_node_and_the_outputs(flow_dir, tmp_path):
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"question": "one two three four", "count": 5}))
    done = run_cli("flow", "test", str(flow_dir), "--inputs-file", str(inputs), "-i", "count=3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for text in ("flow test: Completed", "words", "upper[2]", "answer", "Completed", '"0:ONE 1:TWO 2:THREE"'):
        assert text in done.stdout, done.stdout


def test_a_failing_node_exits_1_naming_it(flow_dir):
    done = run_cli("flow", "test", str(flow_dir), "--inputs", "question=explode", cwd=flow_dir.parent)
    assert done.returncode == 1
    assert "error: node 'words' failed: ValueError: cannot split an explosion" in done.stderr
    assert "Failed" in done.stdout  # the table of what ran comes first


def test_bad_inputs_exit_1_naming_the_input(flow_dir):
    done = run_cli("flow", "test", str(flow_dir), "question=q", "count=many", cwd=flow_dir.parent)
    assert done.returncode == 1
    assert "input 'count': expected an integer, got str 'many'" in done.stderr
    done = run_cli("flow", "test", str(flow_dir), "--inputs", "question", cwd=flow_dir.parent)
    assert done.returncode == 1 and "'question' is not NAME=VALUE" in done.stderr


def test_an_invalid_flow_lists_its_problems(write_flow):
    folder = write_flow("broken", {"flow.yaml": "nodes:\n- {name: a, type: python, source: nope.py}\n"})
    done = run_cli("flow", "test", str(folder), cwd=folder.parent)
    assert done.returncode == 1
    assert "node 'a': source file 'nope.py' does not exist" in done.stderr


LLM_FLOW = {
    "flow.yaml": """\
        inputs: {question: {type: string, is_chat_input: true}}
        outputs: {answer: {reference: "${answer.output}", is_chat_output: true}}
        nodes:
        - name: answer
          type: llm
          source: answer.jinja2
          connection: llm
          inputs: {model: gpt-4o-mini, max_tokens: 32, question: "${inputs.question}"}
        """,
    "answer.jinja2": "# system:\nBe brief.\n# user:\n{{ question }}\n",
}


def test_llm_nodes_use_the_workspace_connections(write_flow, fake_llm, tmp_path):
    folder = write_flow("llm", LLM_FLOW)
    env = {"HEADRACE_HOME": str(tmp_path / "home"), "HEADRACE_CONNECTION_LLM_BASE_URL": f"{fake_llm.url}/v1",
           "HEADRACE_CONNECTION_LLM_API_KEY": "sk-test"}
    done = run_cli("flow", "test", str(folder), "--inputs", "question=Why is the sky blue?", "--json",
                   cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["outputs"] == {"answer": "echo: Why is the sky blue?"}
    assert data["nodes"]["answer"]["llm"]["model"] == "gpt-4o-mini"
    assert fake_llm.requests[-1].messages == [{"role": "system", "content": "Be brief."},
                                             {"role": "user", "content": "Why is the sky blue?"}]
    assert fake_llm.requests[-1].headers["authorization"] == "Bearer sk-test"


def test_stream_prints_the_chat_output_as_it_arrives(write_flow, fake_llm, tmp_path):
    folder = write_flow("llm", LLM_FLOW)
    fake_llm.script("streamed answer", ["stre", "amed ", "answer"])
    env = {"HEADRACE_HOME": str(tmp_path / "home"), "HEADRACE_CONNECTION_LLM_BASE_URL": f"{fake_llm.url}/v1"}
    done = run_cli("flow", "test", str(folder), "-i", "question=hi", "--stream", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("streamed answer\n")
    assert fake_llm.requests[-1].body["stream"] is True
    assert "answer (streamed): 15 characters" in done.stdout


def test_a_missing_connection_names_it(write_flow, tmp_path):
    done = run_cli("flow", "test", str(write_flow("llm", LLM_FLOW)), "-i", "question=hi", cwd=tmp_path,
                   HEADRACE_HOME=str(tmp_path / "home"))
    assert done.returncode == 1
    assert "node 'answer' failed: connection 'llm' not found" in done.stderr


def test_json_exits_1_on_a_failed_flow_and_tool_prints_stay_out_of_stdout(write_flow):
    files = dict(FLOW)
    files["tools.py"] = FLOW["tools.py"].replace(
        "def words(text: str, count: int) -> list[str]:\n",
        "def words(text: str, count: int) -> list[str]:\n            print('tool chatter')\n")
    files["tools.py"] = "        print('import chatter')\n" + files["tools.py"]
    folder = write_flow("noisy", files)
    done = run_cli("flow", "test", str(folder), "--inputs", "question=explode", "--json", cwd=folder.parent)
    assert done.returncode == 1
    data = json.loads(done.stdout)  # only the JSON on stdout
    assert data["status"] == "Failed" and data["error"]["node"] == "words"
    assert "tool chatter" in done.stderr and "import chatter" in done.stderr
    done = run_cli("flow", "test", str(folder), "--inputs", "question=fine words", "--json", cwd=folder.parent)
    assert done.returncode == 0 and json.loads(done.stdout)["outputs"]["words"] == ["fine", "words"]


def test_import_promptflow_exits_1_in_a_real_process_when_something_is_not_converted(tmp_path):
    src = tmp_path / "pf"
    src.mkdir()
    (src / "flow.dag.yaml").write_text(
        "inputs: {q: {type: string}}\noutputs: {a: {type: string, reference: '${t.output}'}}\n"
        "nodes:\n- name: t\n  type: python\n  source: {type: code, path: t.py}\n  inputs: {q: '${inputs.q}'}\n")
    (src / "t.py").write_text("from promptflow.core import tool\nfrom promptflow.contracts.multimedia import Image\n\n"
                              "@tool\ndef t(q: str) -> str:\n    return q\n")
    done = run_cli("flow", "import-promptflow", str(src), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT converted (1)" in done.stderr
    assert "t.py:2" in done.stderr and "headrace does not provide promptflow.contracts.multimedia" in done.stderr
    (src / "t.py").write_text("from promptflow.core import tool\nfrom promptflow.connections import CustomConnection\n"
                              "\n@tool\ndef t(q: str) -> str:\n    return q\n")
    done = run_cli("flow", "import-promptflow", str(src), "--out", str(tmp_path / "out2"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pip install 'headrace[promptflow]'" in done.stdout


def test_an_imported_flow_without_llm_calls_runs_without_creating_a_home(write_flow, tmp_path):
    folder = write_flow("imported", dict(FLOW, **{"flow.yaml": "        compat: promptflow\n" + FLOW["flow.yaml"]}))
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli("flow", "test", str(folder), "--inputs", "question=a b", "--json", cwd=work)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["words"] == ["a", "b"]
    assert list(work.iterdir()) == []
