"""The remote SDK's routes: snapshot uploads, graphs built client-side, runs and publishing by graph id."""

from __future__ import annotations

import copy
import io
import re
import tarfile
import uuid

import httpx
import pytest

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.datastores.snapshots import snapshot_key, store_snapshot
from headrace.services import runs


def _snapshot(folder) -> tuple[str, bytes]:
    """What a remote SDK uploads: ``store_snapshot`` into a memory datastore, then the archive's bytes."""
    mem = FsspecDatastore("mem", f"memory://snap-{uuid.uuid4().hex}")
    digest = store_snapshot(folder, mem)
    return digest, mem.read_bytes(snapshot_key(digest))


@pytest.fixture
def client_graph(live, echo_pipeline):
    """(graph with snapshot hashes, snapshot hash, archive bytes, the Pipeline) as a client builds them."""
    pipeline = echo_pipeline(default_n=42)
    graph = pipeline.graph()
    digest, archive = _snapshot(graph["steps"][0]["source_directory"])
    graph["steps"][0]["snapshot"] = digest
    return graph, digest, archive, pipeline


def test_snapshot_upload(live, client_graph):
    _, digest, archive, _ = client_graph
    sub, reader = live.client("submitter"), live.client("reader")
    assert reader.head(f"/snapshots/{digest}").status_code == 404
    assert live.client("reader").put(f"/snapshots/{digest}", content=archive).status_code == 403
    assert sub.put(f"/snapshots/{digest}", content=archive).json() == {"Hash": digest, "Stored": True}
    assert reader.head(f"/snapshots/{digest}").status_code == 200
    assert sub.put(f"/snapshots/{digest}", content=archive).json()["Stored"] is False
    assert live.svc.artifacts.read_bytes(snapshot_key(digest)) == archive


def test_bad_snapshot_uploads_are_400(live, client_graph):
    _, digest, archive, _ = client_graph
    sub = live.client("submitter")
    assert sub.put(f"/snapshots/{'0' * 64}", content=archive).json()["Error"]["Code"] == "DatastoreError"
    assert sub.put(f"/snapshots/{'1' * 64}", content=b"not a tarball").status_code == 400
    assert sub.put("/snapshots/not-a-hash", content=archive).status_code == 400
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    assert sub.put(f"/snapshots/{'2' * 64}", content=evil.getvalue()).status_code == 400
    assert live.client("reader").head(f"/snapshots/{'0' * 64}").status_code == 404


def test_graph_run_and_publish(live, client_graph):
    graph, digest, archive, pipeline = client_graph
    sub = live.client("submitter")
    missing = sub.post("/graphs", json={"Graph": graph})
    assert missing.status_code == 400 and "'echo'" in missing.json()["Error"]["Message"]
    sub.put(f"/snapshots/{digest}", content=archive)
    graph_id = sub.post("/graphs", json={"Graph": graph}).json()["GraphId"]
    assert graph_id == runs.freeze_pipeline(live.svc, pipeline).id  # same hash as a local freeze
    assert sub.post("/graphs", json={"graph": graph}).json()["GraphId"] == graph_id
    run = sub.post("/runs", json={
        "GraphId": graph_id, "ExperimentName": "remote", "ParameterAssignments": {"tag": "remote"},
        "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "raw"}},
        "RegenerateOutputs": True, "Tags": {"via": "sdk"},
    })
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["GraphId"] == graph_id and body["RunSource"] == "SDK" and body["RegenerateOutputs"] is True
    assert live.wait_run(body["Id"])["Status"] == "Finished"
    assert live.seen("remote")["n"] == 42 and live.seen("remote")["content"] == ["data.csv"]
    assert sub.post("/runs", json={"GraphId": "nope", "ExperimentName": "e"}).status_code == 404
    assert sub.post("/pipelines", json={"GraphId": graph_id, "Name": "remote-pub"}).status_code == 403
    admin = live.client("admin")
    pub = admin.post("/pipelines", json={"GraphId": graph_id, "Name": "remote-pub", "Version": "3",
                                         "ContinueRunOnStepFailure": True}).json()
    assert pub["GraphId"] == graph_id and pub["ContinueRunOnStepFailure"] is True
    trig = sub.post(f"/pipelines/{pub['Id']}/submit", json={"ExperimentName": "e", "ParameterAssignments": {"tag": "rp"}})
    assert trig.status_code == 200 and live.wait_run(trig.json()["Id"])["Status"] == "Finished"
    assert admin.post("/pipelines", json={"GraphId": "nope", "Name": "x"}).status_code == 404


def test_a_graph_with_resources_runs_on_the_local_target_which_records_them(live, client_graph):
    graph, digest, archive, _ = client_graph
    sub = live.client("submitter")
    sub.put(f"/snapshots/{digest}", content=archive)
    plain_id = sub.post("/graphs", json={"Graph": graph}).json()["GraphId"]
    graph_id = sub.post("/graphs", json={"Graph": _step(graph, resources={"GPU": 1, "MEMORY": 4e9})}).json()["GraphId"]
    assert graph_id != plain_id  # the frozen graph carries them (the reuse key does not)
    run = sub.post("/runs", json={
        "GraphId": graph_id, "ExperimentName": "remote", "ParameterAssignments": {"tag": "gpu"},
        "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "raw"}}}).json()
    assert live.wait_run(run["Id"])["Status"] == "Finished"
    [step] = sub.get(f"/runs/{run['Id']}/steps").json()["Value"]
    assert step["Properties"]["resources"] == {"GPU": 1, "MEMORY": 4e9}
    log = sub.get(f"/runs/{run['Id']}/steps/{step['Name']}/logs", params={"log": "execution"}).text
    assert "resources GPU=1, MEMORY=4e+09 recorded; compute target 'local' does not enforce them" in log, log
    # The UI shows them: on the run page (the step's facts) and on the published pipeline's page (its graph).
    pub = live.client("admin").post("/pipelines", json={"GraphId": graph_id, "Name": "gpu-pub"}).json()
    ui = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(ui)
    ui.get("/signin")
    ui.post("/signin", data={"token": live.tokens["reader"], "csrf": ui.cookies["headrace_signin_csrf"], "next": "/"})
    for page in (f"/runs/{run['Id']}", f"/pipelines/{pub['Id']}"):
        html = ui.get(page).text
        assert re.search(r'class="step-resources[^>]*>(\[resources )?GPU=1, MEMORY=4e\+09', html), (page, html[:500])


def _mutations():
    yield "not an object", lambda g: [1, 2]
    yield "format", lambda g: {**g, "format": 2}
    yield "no steps", lambda g: {**g, "steps": []}
    yield "bad param type", lambda g: {**g, "parameters": {**g["parameters"], "pipeline_arg": {"type": "complex"}}}
    yield "bad default", lambda g: {**g, "parameters": {**g["parameters"], "pipeline_arg": {"type": "int", "default": "x"}}}
    yield "unhashable names", lambda g: _step(g, inputs=[["a"]], parameters=[{"x": 1}], depends_on=[[1]])
    yield "bad argument", lambda g: _step(g, arguments=[{"param": ["x"]}, {"data": "nope"}, {"literal": None}])
    yield "unknown datastore", lambda g: {**g, "parameters": {**g["parameters"], "input_data": {
        "type": "datapath", "default": {"datastore": "nope", "path": "a"}}}}
    yield "escaping default", lambda g: {**g, "parameters": {**g["parameters"], "input_data": {
        "type": "datapath", "default": {"datastore": "workspaceblobstore", "path": "../x"}}}}
    yield "compute", lambda g: _step(g, compute_target="gpu-cluster")
    yield "duplicate step", lambda g: {**g, "steps": g["steps"] * 2}
    yield "env", lambda g: _step(g, environment_variables={"A": {"b": 1}}, timeout_seconds=-1)
    yield "resources", lambda g: _step(g, resources={"GPU": -1})
    yield "resources type", lambda g: _step(g, resources=["GPU"])
    yield "data kind", lambda g: {**g, "data": {"x": {"kind": "parameter", "parameter": ["y"]}, "y": []}}


def _step(graph, **changes):
    graph = copy.deepcopy(graph)
    graph["steps"][0].update(changes)
    return graph


@pytest.mark.parametrize("mutate", [m for _, m in _mutations()], ids=[n for n, _ in _mutations()])
def test_malformed_graphs_are_400(live, client_graph, mutate):
    graph, digest, archive, _ = client_graph
    sub = live.client("submitter")
    sub.put(f"/snapshots/{digest}", content=archive)
    r = sub.post("/graphs", json={"Graph": mutate(copy.deepcopy(graph))})
    assert r.status_code == 400, r.text
    assert r.json()["Error"]["Code"] in ("InvalidPipeline", "BadRequest")
