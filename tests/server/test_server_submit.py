"""REST triggers as the seeds' clients send them: Python requests-style, curl, endpoint versions, by name,
case-insensitive keys, Idempotency-Key (sequential and racing) and concurrent distinct submissions."""

from __future__ import annotations

import json
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx

from headrace.services import datastores, endpoints, publishing


def _put_input(live, path: str, text: str) -> None:
    datastores.get_datastore(live.svc, "workspaceblobstore").write_bytes(path, text.encode())


def test_seed_requests_post_runs_with_overridden_values(live, published):
    # Exactly the seeds' call: requests.post(published_pipeline1.endpoint, headers=aad_token, json={...})
    endpoint = live.client("reader").get(f"/pipelines/{published}").json()["Endpoint"]
    assert endpoint == f"{live.url}/api/v1/pipelines/{published}/submit"
    _put_input(live, "raw/new.csv", "x,y\n9,9\n")
    auth_header = {"Authorization": f"Bearer {live.tokens['submitter']}"}
    response = httpx.post(endpoint, headers=auth_header, json={
        "ExperimentName": "My_Pipeline",
        "ParameterAssignments": {"pipeline_arg": 20, "tag": "seed", "use_flag": "true"},
        "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "raw/new.csv"}},
    })
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Status"] == "Queued" and body["PipelineId"] == published
    assert body["RunSource"] == "API" and body["ExperimentName"] == "My_Pipeline"
    assert body["ParameterAssignments"] == {"pipeline_arg": 20, "tag": "seed", "use_flag": True, "wait_for": "none"}
    assert body["DataPathAssignments"] == {"input_data": {"DataStoreName": "workspaceblobstore",
                                                          "RelativePath": "raw/new.csv"}}
    assert live.wait_run(body["Id"])["Status"] == "Finished"
    seen = live.seen("seed")
    assert seen["n"] == 20 and seen["flag"] == "True" and seen["content"] == "x,y\n9,9\n"


def test_curl_with_string_values_and_no_content_type(live, published):
    # The Java seed sends string values and no Content-Type; curl -d sends a form type: both are JSON here.
    _put_input(live, "raw/curl.csv", "from curl\n")
    body = json.dumps({"ExperimentName": "MyRestPipeline", "Description": "from curl", "Tags": {"k": "v"},
                       "RunSource": "API", "ParameterAssignments": {"pipeline_arg": "30", "tag": "curl"},
                       "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore",
                                                              "RelativePath": "raw/curl.csv"}},
                       "ContinueRunOnStepFailure": False})
    out = subprocess.run(
        ["curl", "-sS", "-X", "POST", f"{live.url}/api/v1/pipelines/{published}/submit",
         "-H", f"Authorization: Bearer {live.tokens['submitter']}", "-d", body, "-w", "\n%{http_code}"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    text, status = out.stdout.rsplit("\n", 1)
    assert status == "200", text
    run_id = json.loads(text)["Id"]
    run = live.wait_run(run_id)
    assert run["Status"] == "Finished" and run["Tags"] == {"k": "v"} and run["Description"] == "from curl"
    assert live.seen("curl")["n"] == 30 and live.seen("curl")["content"] == "from curl\n"


def test_endpoint_versions_default_and_pipeline_version(live, echo_pipeline):
    v0 = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=100), name="echo", version="a").id
    v1 = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=111), name="echo", version="b").id
    admin = live.client("admin")
    ep = admin.post("/pipeline-endpoints", json={"Name": "PipelineEndpointTest", "Description": "d", "PipelineId": v0})
    assert ep.status_code == 200, ep.text
    ep_id = ep.json()["Id"]
    assert ep.json()["Endpoint"] == f"{live.url}/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{ep_id}"
    added = admin.post(f"/pipeline-endpoints/{ep_id}/versions", json={"PipelineId": v1, "MakeDefault": True}).json()
    assert added["DefaultVersion"] == "1" and [v["Version"] for v in added["Versions"]] == ["0", "1"]
    sub = live.client("submitter")

    def submit(url: str, tag: str) -> dict:
        r = sub.post(url, json={"ExperimentName": "PipelineEndpointExperiment", "RunSource": "API",
                                "ParameterAssignments": {"tag": tag}})
        assert r.status_code == 200, r.text
        return r.json()

    default = submit(f"/pipeline-endpoints/{ep_id}/submit", "ep-default")
    pinned = submit(f"/pipeline-endpoints/{ep_id}/submit?pipelineVersion=0", "ep-v0")
    by_name = submit("/pipeline-endpoints/by-name/PipelineEndpointTest/submit?pipelineVersion=1", "ep-name")
    assert (default["PipelineEndpointVersion"], default["PipelineId"]) == ("1", v1)
    assert (pinned["PipelineEndpointVersion"], pinned["PipelineId"]) == ("0", v0)
    assert by_name["PipelineEndpointId"] == ep_id and by_name["PipelineEndpointVersion"] == "1"
    for run in (default, pinned, by_name):
        assert live.wait_run(run["Id"])["Status"] == "Finished"
    assert live.seen("ep-default")["n"] == 111 and live.seen("ep-v0")["n"] == 100
    assert live.seen("ep-name")["n"] == 111
    runs = live.client("reader").get("/runs", params={"pipelineEndpointId": ep_id}).json()["Value"]
    assert {r["PipelineEndpointVersion"] for r in runs} == {"0", "1"} and len(runs) == 3


def test_keys_are_case_insensitive(live, published):
    r = live.client("submitter").post(f"/pipelines/{published}/submit", json={
        "experimentname": "lower", "parameterassignments": {"tag": "lower", "pipeline_arg": 7},
        "tags": {"team": "a"}, "DATAPATHASSIGNMENTS": {"input_data": {"datastorename": "workspaceblobstore",
                                                                       "relativepath": "raw/data.csv"}},
        "continuerunonstepfailure": "true", "runsource": "Logic Apps", "description": "lower-case keys",
    })
    assert r.status_code == 200, r.text
    run = live.wait_run(r.json()["Id"])
    assert run["ExperimentName"] == "lower" and run["Tags"] == {"team": "a"} and run["RunSource"] == "Logic Apps"
    assert run["ContinueRunOnStepFailure"] is True and run["Description"] == "lower-case keys"
    assert live.seen("lower")["n"] == 7


def test_idempotency_key_repeat_returns_the_first_run(live, published):
    sub = live.client("submitter")
    body = {"ExperimentName": "idem", "ParameterAssignments": {"tag": "idem"}}
    first = sub.post(f"/pipelines/{published}/submit", json=body, headers={"Idempotency-Key": "k-1"}).json()
    again = sub.post(f"/pipelines/{published}/submit", json=body, headers={"Idempotency-Key": "k-1"}).json()
    assert again["Id"] == first["Id"] and first["Created"] is True and again["Created"] is False
    other = sub.post(f"/pipelines/{published}/submit", json=body, headers={"Idempotency-Key": "k-2"}).json()
    assert other["Id"] != first["Id"]
    runs = live.client("reader").get("/runs", params={"experimentName": "idem"}).json()["Value"]
    assert sorted(r["Id"] for r in runs) == sorted({first["Id"], other["Id"]})


def test_racing_idempotent_repeats_make_one_run(live, published):
    barrier = threading.Barrier(12)
    body = {"ExperimentName": "race", "ParameterAssignments": {"tag": "race"}}

    def submit(_: int) -> str:
        with httpx.Client(base_url=f"{live.url}/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {live.tokens['submitter']}",
                                   "Idempotency-Key": "same-key"}) as c:
            barrier.wait()
            r = c.post(f"/pipelines/{published}/submit", json=body)
            assert r.status_code == 200, r.text
            return r.json()["Id"]

    with ThreadPoolExecutor(12) as pool:
        ids = set(pool.map(submit, range(12)))
    assert len(ids) == 1
    runs = live.client("reader").get("/runs", params={"experimentName": "race"}).json()["Value"]
    assert [r["Id"] for r in runs] == list(ids)


def test_concurrent_distinct_submissions_are_all_recorded_once(live, published):
    barrier = threading.Barrier(16)

    def submit(i: int) -> str:
        with httpx.Client(base_url=f"{live.url}/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {live.tokens['submitter']}"}) as c:
            barrier.wait()
            r = c.post(f"/pipelines/{published}/submit",
                       json={"ExperimentName": "many", "ParameterAssignments": {"tag": f"many-{i}"}})
            assert r.status_code == 200, r.text
            return r.json()["Id"]

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(submit, range(16)))
    assert len(set(ids)) == 16
    listed, cursor = [], None
    reader = live.client("reader")
    while True:
        page = reader.get("/runs", params={"experimentName": "many", "limit": 5,
                                            **({"continuationToken": cursor} if cursor else {})}).json()
        listed += [r["Id"] for r in page["Value"]]
        cursor = page["ContinuationToken"]
        if cursor is None:
            break
    assert sorted(listed) == sorted(ids)
    for run_id in ids:
        assert live.wait_run(run_id, timeout=60)["Status"] == "Finished"
    assert {live.seen(f"many-{i}")["tag"] for i in range(16)} == {f"many-{i}" for i in range(16)}


def test_endpoint_service_submit_records_version(live, published):
    # The same rules hold when the endpoint was made through the services (e.g. the SDK).
    ep = endpoints.publish_endpoint(live.svc, name="svc-made", published_pipeline_id=published)
    r = live.client("submitter").post(f"/pipeline-endpoints/{ep.id}/submit",
                                      json={"ExperimentName": "e", "ParameterAssignments": {"tag": "svc-made"}})
    assert r.status_code == 200 and r.json()["PipelineEndpointVersion"] == "0"
    assert live.wait_run(r.json()["Id"])["PipelineEndpointVersion"] == "0"


def test_trigger_wakes_the_agent_without_polling(live, published):
    # The live agent polls every 60 s: a prompt start proves the submission woke it.
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": "wake", "ParameterAssignments": {"tag": "wake"}})
    run = live.wait_run(r.json()["Id"], timeout=20)
    started, created = datetime.fromisoformat(run["StartTime"]), datetime.fromisoformat(run["CreatedTime"])
    assert run["Status"] == "Finished" and (started - created).total_seconds() < 2
