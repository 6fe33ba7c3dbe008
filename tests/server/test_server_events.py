"""Events with real processes: ``headrace server`` subprocesses, a receiver on loopback, kill -9.

* A webhook in flight when the server is killed (kill -9) is sent again, with the same ``webhook-id``,
  right after the server starts again; the trigger that the same event fired made exactly one run.
* Messages verify with the Standard Webhooks reference library.
* An Azure Event Grid ``BlobCreated`` event posted with ``?token=`` (Event Grid cannot send headers)
  starts a run reading the blob's path, after the subscription validation handshake.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
from standardwebhooks import Webhook as Verifier

from headrace.services import publishing, tokens
from webhook_receiver import receiver

ENV = {"HEADRACE_WEBHOOKS__ALLOWED_NETWORKS": "127.0.0.0/8"}


def _prepare(make_services, echo_pipeline, home: Path) -> tuple[str, str, str]:
    """A home with the echo pipeline published; returns (published id, admin token, submitter token)."""
    svc = make_services(home)
    try:
        published = publishing.publish_pipeline(svc, echo_pipeline(), name="echo").id
        admin = tokens.create_token(svc, "admin", name="admin")[0]
        submitter = tokens.create_token(svc, "submitter", name="grid")[0]
    finally:
        svc.store.close()
    return published, admin, submitter


def _wait(check, timeout: float = 60.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def _wait_run(api: httpx.Client, run_id: str) -> dict:
    return _wait(lambda: (body := api.get(f"/runs/{run_id}").json())["Status"] in ("Finished", "Failed") and body)


def test_killed_mid_delivery_delivers_after_restart_without_a_second_run(
        tmp_path: Path, start_cli_server, make_services, echo_pipeline) -> None:
    home = tmp_path / "home"
    published, admin, _ = _prepare(make_services, echo_pipeline, home)
    hold = threading.Event()
    with receiver(hold=hold) as r:
        proc, url = start_cli_server(home, env=ENV)
        api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
        made = api.post("/webhooks", json={"name": "ci", "url": r.url + "/hook", "events": ["run.finished"],
                                           "filters": {"experiment": "train"}})
        assert made.status_code == 200, made.text
        secret = made.json()["secret"]
        assert api.get("/webhooks/ci").json()["secret"] is None
        made = api.post("/triggers", json={"name": "release", "event": "run.finished", "experiment_name": "release",
                                           "pipeline_id": published, "filters": {"experiment": "train"},
                                           "pipeline_parameters": {"tag": "@triggerBody().data.run_id"}})
        assert made.status_code == 200, made.text
        run = api.post(f"/pipelines/{published}/submit", json={"ExperimentName": "train",
                                                               "ParameterAssignments": {"tag": "train"}}).json()
        first = r.wait_for(1, timeout=60)[0]  # the server is now sending run.finished: the receiver holds it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        hold.clear()
        r.hold = None  # answer at once from now on
        hold.set()
        api.close()
        proc, url = start_cli_server(home, env=ENV)
        api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
        again = r.wait_for(2, timeout=30)[1]
        assert again.headers["webhook-id"] == first.headers["webhook-id"]
        body = Verifier(secret).verify(again.body, again.headers)
        assert body["type"] == "run.finished" and body["data"]["run_id"] == run["Id"]
        _wait(lambda: api.get("/webhooks/ci/deliveries").json()["value"][0]["status"] == "delivered")
        released = api.get("/triggers/release/runs").json()["Value"]
        assert len(released) == 1 and released[0]["ParameterAssignments"]["tag"] == run["Id"]
        assert _wait_run(api, released[0]["Id"])["Status"] == "Finished"
        ticks = api.get("/triggers/release/ticks").json()["value"]
        assert [t["outcome"] for t in ticks].count("fired") == 1  # the release run's own end is skipped
        time.sleep(0.5)
        assert len(api.get("/triggers/release/runs").json()["Value"]) == 1
        api.close()


def test_event_grid_blob_created_starts_a_run_with_the_blob_path(
        tmp_path: Path, start_cli_server, make_services, echo_pipeline, signals: Path) -> None:
    home = tmp_path / "home"
    published, admin, submitter = _prepare(make_services, echo_pipeline, home)
    _, url = start_cli_server(home, env=ENV)
    api = httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    made = api.post("/triggers", json={"name": "on-blob", "event": "http", "experiment_name": "ingest",
                                       "pipeline_id": published,
                                       "pipeline_parameters": {"input_data": "@triggerBody().blobPath",
                                                               "tag": "@triggerBody().fileName"}})
    assert made.status_code == 200, made.text
    events_url = made.json()["events_url"]
    assert events_url == f"{url}/api/v1/triggers/on-blob/events"
    grid = httpx.Client(timeout=30)  # Event Grid sends no Authorization header: the token is in the URL
    assert grid.post(events_url, json=[{"id": "v"}]).status_code == 401
    handshake = grid.post(f"{events_url}?token={submitter}", json=[{
        "id": "2d1781af", "topic": "/subscriptions/x", "subject": "", "eventTime": "2026-12-07T10:00:00Z",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "dataVersion": "1",
        "data": {"validationCode": "512d38b6", "validationUrl": "https://rp.example/validate"}}])
    assert handshake.json() == {"validationResponse": "512d38b6"}
    blob = {"id": "831e1650-001e-001b-66ab-eeb76e069631", "topic": "/subscriptions/x/storageAccounts/acct",
            "subject": "/blobServices/default/containers/workspaceblobstore/blobs/raw/data.csv",
            "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2026-12-07T10:00:01Z", "dataVersion": "",
            "metadataVersion": "1", "data": {"api": "PutBlockList", "blobType": "BlockBlob", "contentLength": 8,
                                             "url": "https://acct.blob.core.windows.net/workspaceblobstore/raw/data.csv"}}
    missing = grid.post(f"{events_url}?token={submitter}", json=[{**blob, "subject": "/x"}])
    assert missing.status_code == 400 and missing.json()["Error"]["Target"] == "blobPath"
    answer = grid.post(f"{events_url}?token={submitter}", json=[blob])
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["events"][0]["runs"][0]
    run = _wait_run(api, run_id)
    assert run["Status"] == "Finished"
    assert run["DataPathAssignments"]["input_data"]["RelativePath"] == "raw/data.csv"
    assert (signals / "data.csv.json").read_text().count("a,b") == 1  # the step read the blob's file
    repeat = grid.post(f"{events_url}?token={submitter}", json=[blob])  # Event Grid delivers at least once
    assert repeat.json()["events"][0]["runs"] == [run_id]
    assert len(api.get("/triggers/on-blob/runs").json()["Value"]) == 1
    api.close()
    grid.close()
