"""Every read and management route: health, OpenAPI, published pipelines, endpoints, runs (steps, logs,
metrics, cancel, publish, filters, cursor), experiments, datastores and their files."""

from __future__ import annotations

import httpx


def _run(live, published, tag: str, **extra) -> str:
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": "routes", "ParameterAssignments": {"tag": tag, **extra}})
    assert r.status_code == 200, r.text
    return r.json()["Id"]


def test_health_and_openapi(live):
    assert httpx.get(f"{live.url}/api/v1/health").json() == {"Status": "ok", "Version": "0.1.0", "Database": "sqlite"}
    doc = httpx.get(f"{live.url}/openapi.json", timeout=60).json()
    assert "/api/v1/pipelines/{pipeline_id}/submit" in doc["paths"]
    assert "SubmitRequest" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    assert all("422" not in op["responses"] for ops in doc["paths"].values() for op in ops.values())


def test_published_pipeline_routes(live, published):
    reader, admin = live.client("reader"), live.client("admin")
    one = reader.get(f"/pipelines/{published}").json()
    assert one["Name"] == "echo" and one["Version"] == "1.0" and one["Status"] == "Active"
    assert one["StepNames"] == ["echo"] and one["Graph"]["steps"][0]["name"] == "echo"
    params = {p["Name"]: p for p in one["Parameters"]}
    assert params["pipeline_arg"] == {"Name": "pipeline_arg", "Type": "int", "DefaultValue": 10}
    assert params["input_data"]["DefaultValue"] == {"DataStoreName": "workspaceblobstore", "RelativePath": "raw/data.csv"}
    assert [p["Id"] for p in reader.get("/pipelines").json()["Value"]] == [published]
    assert reader.get("/pipelines").json()["Value"][0]["Graph"] is None
    assert admin.post(f"/pipelines/{published}/disable").json()["Status"] == "Disabled"
    assert reader.get("/pipelines").json()["Value"] == []
    assert [p["Status"] for p in reader.get("/pipelines", params={"activeOnly": "false"}).json()["Value"]] == ["Disabled"]
    assert admin.post(f"/pipelines/{published}/enable").json()["Status"] == "Active"


def test_endpoint_routes(live, published, echo_pipeline):
    from headrace.services import publishing

    second = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=2), name="echo2").id
    sub, admin, reader = live.client("submitter"), live.client("admin"), live.client("reader")
    assert sub.post("/pipeline-endpoints", json={"name": "ep", "pipelineid": published}).status_code == 403
    ep = admin.post("/pipeline-endpoints", json={"name": "ep", "description": "d", "pipelineid": published}).json()
    assert (ep["Name"], ep["DefaultVersion"], ep["Status"]) == ("ep", "0", "Active")
    assert sub.post(f"/pipeline-endpoints/{ep['Id']}/versions", json={"PipelineId": second}).status_code == 403
    assert admin.post(f"/pipeline-endpoints/{ep['Id']}/versions", json={"PipelineId": second}).json()["DefaultVersion"] == "0"
    assert reader.get(f"/pipeline-endpoints/{ep['Id']}").json()["Versions"][1]["PipelineId"] == second
    assert reader.get("/pipeline-endpoints/by-name/ep").json()["Id"] == ep["Id"]
    assert [e["Name"] for e in reader.get("/pipeline-endpoints").json()["Value"]] == ["ep"]
    assert admin.put(f"/pipeline-endpoints/{ep['Id']}/default-version", json={"Version": "1"}).json()["DefaultVersion"] == "1"
    assert admin.put(f"/pipeline-endpoints/{ep['Id']}/default-version", json={"Version": "9"}).status_code == 404
    assert sub.put(f"/pipeline-endpoints/{ep['Id']}/default-version", json={"Version": "0"}).status_code == 403
    assert admin.post(f"/pipeline-endpoints/{ep['Id']}/disable").json()["Status"] == "Disabled"
    assert reader.get("/pipeline-endpoints").json()["Value"] == []
    assert admin.post(f"/pipeline-endpoints/{ep['Id']}/enable").json()["Status"] == "Active"
    archived = admin.post(f"/pipeline-endpoints/{ep['Id']}/archive").json()
    assert archived["Status"] == "Disabled" and archived["Name"] != "ep"
    assert reader.get("/pipeline-endpoints/by-name/ep").status_code == 404  # the name is free again
    assert admin.post("/pipeline-endpoints", json={"Name": "ep", "PipelineId": second}).status_code == 200


def test_run_routes(live, published):
    run_id = _run(live, published, "routes-1", pipeline_arg=5)
    reader = live.client("reader")
    run = live.wait_run(run_id)
    assert run["Status"] == "Finished" and run["PipelineId"] == published and run["RunSource"] == "API"
    assert run["ParameterAssignments"]["pipeline_arg"] == 5 and run["Steps"][0]["Name"] == "echo"
    steps = reader.get(f"/runs/{run_id}/steps").json()["Value"]
    assert [s["Status"] for s in steps] == ["Finished"] and steps[0]["IsReused"] is False
    step_id = steps[0]["Id"]
    assert reader.get(f"/step-runs/{step_id}").json()["Name"] == "echo"
    log = reader.get(f"/runs/{run_id}/steps/echo/logs")
    assert log.headers["content-type"].startswith("text/plain") and "echo routes-1 5" in log.text
    assert reader.get(f"/runs/{run_id}/steps/{step_id}/logs", params={"tail": 2}).text == "line 2\nline 3\n"
    assert reader.get(f"/runs/{run_id}/steps/echo/logs", params={"tail": 0}).text == ""
    assert "echo stderr" in reader.get(f"/runs/{run_id}/steps/echo/logs", params={"log": "stderr"}).text
    assert reader.get(f"/runs/{run_id}/steps/echo/logs", params={"log": "execution"}).text
    assert reader.get(f"/runs/{run_id}/steps/nope/logs").status_code == 404
    assert reader.get(f"/runs/{run_id}/metrics").json() == {"pipeline_n": 5}
    assert reader.get(f"/runs/{run_id}/steps/echo/metrics").json() == {"n": 5, "loss": [0.5, 0.25]}


def test_run_list_filters_and_cursor(live, published, echo_pipeline):
    from headrace.services import endpoints, publishing

    other = publishing.publish_pipeline(live.svc, echo_pipeline(), name="other").id
    ep = endpoints.publish_endpoint(live.svc, name="list-ep", published_pipeline_id=other)
    first = _run(live, published, "list-1")
    second = _run(live, published, "list-2")
    via_ep = live.client("submitter").post(f"/pipeline-endpoints/{ep.id}/submit",
                                           json={"ExperimentName": "other-exp", "ParameterAssignments": {"tag": "l3"}})
    via_ep = via_ep.json()["Id"]
    for run_id in (first, second, via_ep):
        live.wait_run(run_id)
    reader = live.client("reader")

    def ids(**params) -> list[str]:
        return [r["Id"] for r in reader.get("/runs", params=params).json()["Value"]]

    assert ids(experimentName="routes") == [second, first]
    assert ids(pipelineId=published) == [second, first] and ids(pipelineId=other) == [via_ep]
    assert ids(pipelineEndpointId=ep.id) == [via_ep]
    assert ids(status="Finished") == [via_ep, second, first] and ids(status=["Queued", "Running"]) == []
    page = reader.get("/runs", params={"limit": 2}).json()
    assert [r["Id"] for r in page["Value"]] == [via_ep, second] and page["ContinuationToken"]
    rest = reader.get("/runs", params={"limit": 2, "continuationToken": page["ContinuationToken"]}).json()
    assert [r["Id"] for r in rest["Value"]] == [first] and rest["ContinuationToken"] is None


def test_cancel_and_publish_run(live, published, wait_until):
    run_id = _run(live, published, "cancel-me", wait_for="never")  # waits for a file that never comes
    reader, sub, admin = live.client("reader"), live.client("submitter"), live.client("admin")
    wait_until(lambda: reader.get(f"/runs/{run_id}").json()["Steps"][0]["Status"] == "Running", message="step start")
    assert sub.post(f"/runs/{run_id}/cancel").json()["CancelRequested"] is True
    assert live.wait_run(run_id)["Status"] == "Canceled"
    again = sub.post(f"/runs/{run_id}/cancel")
    assert again.status_code == 200 and again.json()["Status"] == "Canceled"
    assert sub.post(f"/runs/{run_id}/publish", json={"Name": "from-run"}).status_code == 403
    pub = admin.post(f"/runs/{run_id}/publish", json={"Name": "from-run", "Version": "2", "Description": "d"}).json()
    assert pub["SourceRunId"] == run_id and pub["Version"] == "2" and pub["Endpoint"].endswith(f"/pipelines/{pub['Id']}/submit")
    assert reader.get(f"/pipelines/{pub['Id']}").json()["GraphId"] == reader.get(f"/runs/{run_id}").json()["GraphId"]


def test_experiment_routes(live, published):
    live.wait_run(_run(live, published, "exp"))
    reader = live.client("reader")
    assert [e["Name"] for e in reader.get("/experiments").json()["Value"]] == ["routes"]
    assert reader.get("/experiments/routes").json()["Name"] == "routes"


def test_datastore_and_file_routes(live, tmp_path):
    reader, sub, admin = live.client("reader"), live.client("submitter"), live.client("admin")
    assert [d["Name"] for d in reader.get("/datastores").json()["Value"]] == ["workspaceblobstore"]
    assert reader.get("/datastores/workspaceblobstore").json()["Kind"] == "local"
    created = admin.post("/datastores", json={"Name": "extra", "Path": str(tmp_path / "extra")}).json()
    assert created["RootUri"] == (tmp_path / "extra").as_uri()
    put = sub.put("/datastores/extra/files/in/a.txt", content=b"hello")
    assert put.status_code == 200 and put.json() == {"Path": "in/a.txt", "Size": 5, "Modified": None, "Etag": None}
    assert (tmp_path / "extra" / "in" / "a.txt").read_bytes() == b"hello"
    assert sub.put("/datastores/extra/files/in/a.txt", content=b"again").status_code == 409
    assert sub.put("/datastores/extra/files/in/a.txt", params={"overwrite": "true"}, content=b"bye").status_code == 403
    assert admin.put("/datastores/extra/files/in/a.txt", params={"overwrite": "true"}, content=b"bye").status_code == 200
    sub.put("/datastores/extra/files/in/deep/b.txt", content=b"b")
    assert reader.get("/datastores/extra/files/in/a.txt").content == b"bye"
    listed = reader.get("/datastores/extra/files", params={"prefix": "in"}).json()["Value"]
    assert [f["Path"] for f in listed] == ["in/a.txt", "in/deep/b.txt"] and listed[0]["Size"] == 3
    shallow = reader.get("/datastores/extra/files", params={"prefix": "in", "recursive": "false"}).json()["Value"]
    assert [f["Path"] for f in shallow] == ["in/a.txt"]
    assert reader.get("/datastores/extra/files/in/missing.txt").status_code == 404
    assert reader.get("/datastores/extra/files/in").status_code == 404  # a folder is not a file
    assert reader.get("/datastores/extra/files/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)
    assert sub.put("/datastores/extra/files/..%2Fescape.txt", content=b"x").status_code in (400, 404)
    assert not (tmp_path / "escape.txt").exists()
