"""Per-run connections and overrides (prompt flow's ``Run(connections=...)`` and ``FlowContext``).

The flow's llm node talks to the fake OpenAI-compatible server on loopback; the batch run is a real
embedded workspace with step subprocesses.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from fake_llm import FakeLLM
from flow_samples import QA_FLOW

from headrace.errors import DefinitionError, FlowDefinitionError
from headrace.flows.spec import load_spec
from headrace.sdk.flow_runs import flow_summary, run_flow
from headrace.services.connections import create_connection


def _folder(root: Path, files: dict[str, str]) -> Path:
    folder = root / "qa"
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(textwrap.dedent(text))
    return folder


def test_connections_and_overrides_change_the_nodes_and_the_graph(tmp_path: Path) -> None:
    folder = _folder(tmp_path, QA_FLOW)
    spec = load_spec(folder, connections={"chat": {"connection": "other", "model": "gpt-big"}},
                     overrides={"nodes.chat.inputs.question": "fixed?", "inputs.question.default": "q"})
    chat = next(n for n in spec.nodes if n.name == "chat")
    assert chat.connection == "other"
    assert chat.inputs["model"] == "gpt-big" and chat.inputs["question"] == "fixed?"
    assert spec.inputs["question"].default == "q"
    assert load_spec(folder).nodes[0].connection == "llm"  # the file is unchanged


@pytest.mark.parametrize(("connections", "overrides", "message"), [
    ({"nope": {"connection": "x"}}, None, "no node 'nope' .*chat, tidy"),
    ({"chat": {"temperature": 1}}, None, "'temperature' cannot be set this way"),
    ({"tidy": {"conn": "x"}}, None, "node 'tidy' has no input 'conn'"),
    ({"chat": "x"}, None, "give a mapping"),
    (None, {"nodes.ghost.inputs.q": 1}, "no node 'ghost'"),
    (None, {"nodes.chat.inputs.question.deep": 1}, "'question' is not a mapping"),
])
def test_changes_that_name_nothing_in_the_flow_are_refused(tmp_path: Path, connections, overrides,
                                                            message: str) -> None:
    folder = _folder(tmp_path, QA_FLOW)
    with pytest.raises(FlowDefinitionError, match=message):
        load_spec(folder, connections=connections, overrides=overrides)


def test_a_batch_run_uses_the_connection_given_for_a_node(workspace, fake_llm: FakeLLM, tmp_path: Path) -> None:
    svc = workspace._backend.svc
    create_connection(svc, "llm", type="openai", base_url="http://127.0.0.1:9/v1", api_key="sk-wrong")
    create_connection(svc, "good", type="openai", base_url=fake_llm.base_url, api_key="sk-good")
    folder = _folder(tmp_path, QA_FLOW)
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"question": "Where?"}) + "\n")

    run = run_flow(workspace, folder, data, connections={"chat": {"connection": "good", "model": "gpt-x"}},
                   overrides={"nodes.chat.inputs.max_tokens": 7})
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert flow_summary(run)["lines_completed"] == 1
    sent = fake_llm.last
    assert sent.headers["authorization"] == "Bearer sk-good"
    assert sent.body["model"] == "gpt-x" and sent.body["max_tokens"] == 7

    with pytest.raises(DefinitionError, match="no node 'ghost'"):
        run_flow(workspace, folder, data, connections={"ghost": {"connection": "good"}})
