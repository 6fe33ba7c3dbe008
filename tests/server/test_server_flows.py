"""Publishing prompt flows to the server and scoring them at ``/api/v1/flows/{name}/score``, on the real ``live``
server, with a stored connection pointing at the fake OpenAI-compatible model."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "flows"))  # the fake model lives with the flow tests
import fake_llm  # noqa: E402

from headrace.cli.main import app  # noqa: E402
from headrace.client import HeadraceClient  # noqa: E402
from headrace.datastores.snapshots import store_snapshot  # noqa: E402
from headrace.errors import FlowInputError, LLMError  # noqa: E402
from headrace.sdk.remote_datastore import SnapshotUploads  # noqa: E402
from headrace.services import connections  # noqa: E402

FLOW_YAML = """\
description: Answers with a prefix
inputs:
  question: {type: string, is_chat_input: true}
outputs:
  prefix: {reference: "${prefix.output}"}
  answer: {reference: "${answer.output}", is_chat_output: true}
nodes:
- {name: prefix, type: python, source: tools.py, inputs: {text: "${inputs.question}"}}
- name: answer
  type: llm
  source: answer.jinja2
  connection: llm
  inputs: {model: gpt-4o-mini, question: "${prefix.output}"}
"""
TOOLS = """\
from headrace.flows import tool

@tool
def prefix(text: str) -> str:
    return "{tag}: " + text
"""
TEMPLATE = "# system:\nBe brief.\n# user:\n{{question}}\n"


def write_flow(root: Path, tag: str, flow_yaml: str = FLOW_YAML) -> Path:
    folder = root / f"flow-{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flow.yaml").write_text(flow_yaml)
    (folder / "tools.py").write_text(TOOLS.replace("{tag}", tag))
    (folder / "answer.jinja2").write_text(TEMPLATE)
    return folder


@pytest.fixture(scope="module")
def model_server() -> Iterator[fake_llm.FakeLLM]:
    with fake_llm.serve() as fake:
        yield fake


@pytest.fixture
def model(model_server: fake_llm.FakeLLM) -> Iterator[fake_llm.FakeLLM]:
    """The fake OpenAI-compatible model (``tests/flows/fake_llm.py``), reset for each test."""
    model_server.reset()
    yield model_server
    model_server.reset()


@pytest.fixture
def server(live, model):
    """``live`` with the connection ``llm`` stored, pointing at the fake model."""
    connections.create_connection(live.svc, "llm", type="openai", base_url=model.base_url, api_key="sk-test")
    return live


def upload(live, folder: Path) -> str:
    """The flow folder's snapshot uploaded as a remote client does; returns its digest."""
    with HeadraceClient(live.url, live.tokens["submitter"]) as client:
        return store_snapshot(folder, SnapshotUploads(client))


def publish(live, folder: Path, name: str = "ask", role: str = "admin", **fields):
    return live.client(role).post("/flows", json={"Name": name, "SnapshotDigest": upload(live, folder), **fields})


def test_publish_and_score(server, model, tmp_path):
    r = publish(server, write_flow(tmp_path, "v1"), Description="first")
    assert r.status_code == 200, r.text
    flow = r.json()
    assert (flow["Name"], flow["Status"], flow["DefaultVersion"], flow["Description"]) == ("ask", "Active", 1, "first")
    assert flow["Endpoint"] == f"{server.url}/api/v1/flows/ask/score"
    interface = flow["Versions"][0]["Interface"]
    assert interface["inputs"] == {"question": {"type": "string", "required": True, "is_chat_input": True}}
    assert list(interface["outputs"]) == ["prefix", "answer"] and interface["stream_output"] == "answer"
    r = server.client("submitter").post("/flows/ask/score", json={"question": "hi"})
    assert r.status_code == 200, r.text
    assert r.json() == {"prefix": "v1: hi", "answer": "echo: v1: hi"}
    assert r.headers["x-flow-version"] == "1"
    assert model.last.headers["authorization"] == "Bearer sk-test"  # the stored, encrypted key
    reader = server.client("reader")
    assert [f["Name"] for f in reader.get("/flows").json()["Value"]] == ["ask"]
    assert reader.get("/flows/ask").json()["Versions"][0]["SnapshotDigest"] == flow["Versions"][0]["SnapshotDigest"]


def test_versions_default_and_version_query(server, tmp_path):
    sub, admin = server.client("submitter"), server.client("admin")
    assert publish(server, write_flow(tmp_path, "v1")).json()["DefaultVersion"] == 1
    assert publish(server, write_flow(tmp_path, "v2")).json()["DefaultVersion"] == 2
    third = publish(server, write_flow(tmp_path, "v3"), MakeDefault=False).json()
    assert ([v["Version"] for v in third["Versions"]], third["DefaultVersion"]) == ([1, 2, 3], 2)

    def score(**params) -> str:
        r = sub.post("/flows/ask/score", params=params, json={"question": "q"})
        assert r.status_code == 200, r.text
        return r.json()["prefix"]

    assert (score(), score(version=1), score(version=3)) == ("v2: q", "v1: q", "v3: q")
    missing = sub.post("/flows/ask/score", params={"version": 9}, json={"question": "q"})
    assert missing.status_code == 404 and "versions of flow 'ask': 1, 2, 3" in missing.json()["Error"]["Message"]
    taken = publish(server, write_flow(tmp_path, "again"), Version=2)
    assert taken.status_code == 409 and taken.json()["Error"]["Code"] == "AlreadyExists"
    assert sub.put("/flows/ask/default-version", json={"Version": 3}).status_code == 403
    assert admin.put("/flows/ask/default-version", json={"Version": 3}).json()["DefaultVersion"] == 3
    assert score() == "v3: q"
    assert admin.put("/flows/ask/default-version", json={"Version": 7}).status_code == 404


def test_roles_unknown_flows_and_disabling(server, tmp_path):
    folder = write_flow(tmp_path, "v1")
    reader, sub, admin = server.client("reader"), server.client("submitter"), server.client("admin")
    for role in ("reader", "submitter"):  # a published flow is callable by every submitter: an admin's call
        refused = publish(server, folder, role=role)
        assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "Forbidden"
    assert publish(server, folder).status_code == 200
    assert reader.post("/flows/ask/score", json={"question": "q"}).status_code == 403  # scoring spends tokens
    assert server.client(None).post("/flows/ask/score", json={"question": "q"}).status_code == 401
    for r in (reader.get("/flows/nope"), sub.post("/flows/nope/score", json={"question": "q"})):
        assert r.status_code == 404 and r.json()["Error"]["Code"] == "NotFound"
        assert "published flows: ask" in r.json()["Error"]["Message"]
    assert sub.post("/flows/ask/disable").status_code == 403
    assert admin.post("/flows/ask/disable").json()["Status"] == "Disabled"
    assert reader.get("/flows").json()["Value"] == []
    assert [f["Name"] for f in reader.get("/flows", params={"activeOnly": "false"}).json()["Value"]] == ["ask"]
    disabled = sub.post("/flows/ask/score", json={"question": "q"})
    assert disabled.status_code == 409 and disabled.json()["Error"]["Code"] == "Disabled"
    assert admin.post("/flows/ask/enable").json()["Status"] == "Active"
    assert sub.post("/flows/ask/score", json={"question": "q"}).status_code == 200


def test_bad_flow_folder_is_a_400_listing_its_problems(server, tmp_path):
    broken = FLOW_YAML.replace("type: python", "type: pythn").replace("answer.jinja2", "missing.jinja2")
    r = publish(server, write_flow(tmp_path, "bad", broken))
    assert r.status_code == 400
    error = r.json()["Error"]
    assert error["Code"] == "InvalidFlow" and error["Message"].startswith("ask/flow.yaml is invalid (4 problem(s))")
    assert "node 'prefix': type 'pythn'" in error["Message"] and "'missing.jinja2' does not exist" in error["Message"]
    failing_import = write_flow(tmp_path, "imports")
    (failing_import / "tools.py").write_text("import no_such_module_here\n" + TOOLS.replace("{tag}", "x"))
    r = publish(server, failing_import)
    assert r.status_code == 400 and "no_such_module_here" in r.json()["Error"]["Message"]
    r = server.client("admin").post("/flows", json={"Name": "ask", "SnapshotDigest": "0" * 64})
    assert r.status_code == 400 and "PUT /api/v1/snapshots" in r.json()["Error"]["Message"]
    r = server.client("admin").post("/flows", json={"Name": "no spaces/here", "SnapshotDigest": "0" * 64})
    assert r.status_code == 400 and "invalid flow name" in r.json()["Error"]["Message"]
    assert server.client("reader").get("/flows", params={"activeOnly": "false"}).json()["Value"] == []


def test_score_errors_and_streaming(server, model, tmp_path):
    assert publish(server, write_flow(tmp_path, "v1")).status_code == 200
    sub = server.client("submitter")
    r = sub.post("/flows/ask/score", json={})
    assert r.status_code == 400
    assert r.json()["Error"] | {"Message": ""} == {"Code": "InvalidFlowInput", "Message": "", "Target": "question"}
    assert sub.post("/flows/ask/score", json={"question": "q"}, headers={"Accept": "text/html"}).status_code == 406
    model.fail_next(4, status=500, retry_after="0")
    r = sub.post("/flows/ask/score", json={"question": "q"})
    assert r.status_code == 424 and r.json()["Error"]["Code"] == "ModelError"
    assert "'answer'" in r.json()["Error"]["Message"] and "HTTP 500" in r.json()["Error"]["Message"]
    model.script(["one ", "two ", "three"])
    with sub.stream("POST", "/flows/ask/score", json={"question": "q"}, headers={"Accept": "text/event-stream"}) as r:
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    assert events == [{"prefix": "v1: q"}, {"answer": "one "}, {"answer": "two "}, {"answer": "three"}]


def test_client_methods_map_errors_back(server, model, tmp_path):
    from headrace.schemas.flows import FlowPublish

    with HeadraceClient(server.url, server.tokens["admin"]) as client:
        digest = store_snapshot(write_flow(tmp_path, "v1"), SnapshotUploads(client))
        read = client.publish_flow(FlowPublish(Name="ask", SnapshotDigest=digest))
        assert read.DefaultVersion == 1 and client.get_flow("ask").Versions[0].SnapshotDigest == digest
        assert client.score_flow("ask", {"question": "q"}) == {"prefix": "v1: q", "answer": "echo: v1: q"}
        model.script(["a", "b"])
        assert list(client.stream_flow("ask", {"question": "q"})) == [{"prefix": "v1: q"}, {"answer": "a"},
                                                                     {"answer": "b"}]
        with pytest.raises(FlowInputError) as info:
            client.score_flow("ask", {})
        assert info.value.input == "question"
        model.fail_next(4, status=503, retry_after="0")
        with pytest.raises(LLMError, match="'answer'") as llm_info:
            client.score_flow("ask", {"question": "q"})
        assert llm_info.value.node == "answer"
        assert [f.Name for f in client.list_flows()] == ["ask"]


def test_cli_publish_remote_and_embedded(server, tmp_path, monkeypatch):
    runner = CliRunner(env={"COLUMNS": "200"})
    folder = write_flow(tmp_path, "cli")
    monkeypatch.setenv("HEADRACE_URL", server.url)
    monkeypatch.setenv("HEADRACE_TOKEN", server.tokens["admin"])
    result = runner.invoke(app, ["flow", "publish", str(folder), "--name", "remote-ask", "--json"])
    assert result.exit_code == 0, result.output
    published = json.loads(result.output)
    assert (published["name"], published["published_version"]) == ("remote-ask", 1)
    assert published["endpoint"] == f"{server.url}/api/v1/flows/remote-ask/score"
    r = server.client("submitter").post("/flows/remote-ask/score", json={"question": "q"})
    assert r.json()["prefix"] == "cli: q"
    broken = write_flow(tmp_path, "broken", FLOW_YAML.replace("source: tools.py", "source: gone.py"))
    result = runner.invoke(app, ["flow", "publish", str(broken), "--name", "remote-ask"])
    assert result.exit_code != 0 and "gone.py" in str(result.exception)
    listed = runner.invoke(app, ["flow", "list-published", "--json"])
    assert [f["name"] for f in json.loads(listed.output)] == ["remote-ask"]

    monkeypatch.delenv("HEADRACE_URL")
    home = tmp_path / "embedded-home"
    for _ in range(2):
        result = runner.invoke(app, ["flow", "publish", str(folder), "--name", "local-ask", "--home", str(home)])
        assert result.exit_code == 0, result.output
    assert "version 2 (default version 2)" in result.output
    listed = runner.invoke(app, ["flow", "list-published", "--home", str(home), "--json"])
    [local] = json.loads(listed.output)
    assert (local["name"], [v["version"] for v in local["versions"]]) == ("local-ask", [1, 2])
    assert local["versions"][0]["snapshot"] == local["versions"][1]["snapshot"]  # same folder, same snapshot


def test_runtime_extracts_each_snapshot_once_and_keeps_a_bounded_cache(make_services, tmp_path):
    from headrace.services import flows
    from headrace.services.flow_runtime import FlowRuntime

    svc = make_services(tmp_path / "home")
    try:
        first = flows.publish_folder(svc, write_flow(tmp_path, "one"), name="one").version().snapshot
        second = flows.publish_folder(svc, write_flow(tmp_path, "two"), name="two").version().snapshot
        runtime = FlowRuntime(svc, size=1)
        loaded = runtime.flow(first)
        assert runtime.flow(first) is loaded
        assert (svc.home / "flows" / first / "flow.yaml").is_file()
        assert runtime.flow(second).spec.folder == svc.home / "flows" / second
        assert first not in runtime and second in runtime  # the least recently used one went
        again = runtime.flow(first)
        assert again is not loaded and again.run(question="q").nodes["prefix"].output == "one: q"
    finally:
        svc.store.close()


def test_deeply_nested_score_body_is_a_400(server, tmp_path):
    """Was a 500 (``RecursionError`` in ``json.loads``)."""
    publish(server, write_flow(tmp_path, "v1"))
    deep = b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = server.client("submitter").post("/flows/ask/score", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nests" in r.json()["Error"]["Message"], r.text
