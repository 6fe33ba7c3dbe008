"""The pipeline-draft routes: bodies, roles and errors as a REST client meets them."""

from __future__ import annotations


def test_draft_routes(live, published):
    graph_id = live.svc.store.get_published_pipeline(published).pipeline_id
    sub, reader = live.client("submitter"), live.client("reader")
    body = {"GraphId": graph_id, "Name": "d", "ExperimentName": "drafts", "Tags": {"dev": True},
            "ParameterAssignments": {"tag": "from-draft"},
            "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "raw/x.csv"}}}
    assert reader.post("/pipeline-drafts", json=body).status_code == 403
    made = sub.post("/pipeline-drafts", json=body)
    assert made.status_code == 200, made.text
    draft = made.json()
    assert draft["Tags"] == {"dev": "true"} and draft["ParameterAssignments"] == {"tag": "from-draft"}
    assert draft["DataPathAssignments"]["input_data"]["RelativePath"] == "raw/x.csv"
    assert [d["Id"] for d in reader.get("/pipeline-drafts", params={"tag": "dev=true"}).json()["Value"]] == [draft["Id"]]
    assert reader.get("/pipeline-drafts", params={"tag": "dev=false"}).json()["Value"] == []
    assert reader.get("/pipeline-drafts", params={"tag": "dev"}).status_code == 400

    patched = sub.patch(f"/pipeline-drafts/{draft['Id']}", json={"Name": "renamed", "ParameterAssignments": {}})
    assert patched.json()["Name"] == "renamed" and patched.json()["ParameterAssignments"] == {}
    assert patched.json()["DataPathAssignments"] == {}  # assignments given: they replace them all

    run = sub.post(f"/pipeline-drafts/{draft['Id']}/submit")
    assert run.status_code == 200 and run.json()["ExperimentName"] == "drafts"
    assert live.wait_run(run.json()["Id"])["Status"] == "Finished"
    assert sub.post(f"/pipeline-drafts/{draft['Id']}/publish").status_code == 403  # publishing is an admin's
    pub = live.client("admin").post(f"/pipeline-drafts/{draft['Id']}/publish").json()
    assert pub["Name"] == "renamed" and pub["GraphId"] == graph_id and pub["Endpoint"].endswith("/submit")

    missing = sub.post("/pipeline-drafts", json={"GraphId": graph_id, "Name": "x"})
    assert missing.status_code == 400 and missing.json()["Error"]["Target"] == "ExperimentName"
    two = sub.post("/pipeline-drafts", json={"PipelineId": published, "RunId": run.json()["Id"]})
    assert two.status_code == 400 and "exactly one" in two.json()["Error"]["Message"]
    unknown = sub.post("/pipeline-drafts", json={**body, "ParameterAssignments": {"nope": 1}})
    assert unknown.status_code == 400 and unknown.json()["Error"]["Code"] == "UnknownParameter"
    assert sub.delete(f"/pipeline-drafts/{draft['Id']}").status_code == 204
    assert reader.get(f"/pipeline-drafts/{draft['Id']}").status_code == 404
    assert sub.delete(f"/pipeline-drafts/{draft['Id']}").status_code == 404
