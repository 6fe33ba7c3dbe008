"""Webhook and Trigger as user code calls them, embedded and remote alike (errors included)."""

from __future__ import annotations

import pytest

from headrace import Trigger, Webhook
from headrace.errors import AlreadyExistsError, EventError, NotFoundError

from .scripts import contract_pipeline, upload_csv


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADRACE_WEBHOOKS__ALLOWED_NETWORKS", "127.0.0.0/8")


def test_webhook_lifecycle(ws) -> None:
    hook = Webhook.create(ws, "ci", url="http://127.0.0.1:9/hook", events=["run.failed", "step.failed"],
                          filters={"experiment": "nightly"})
    assert hook.secret.startswith("whsec_") and hook.events == ["run.failed", "step.failed"]
    again = Webhook.get(ws, "ci")
    assert again.secret is None and again.filters == {"experiment": "nightly"} and again.id == hook.id
    assert [h.name for h in Webhook.list(ws)] == ["ci"]
    with pytest.raises(AlreadyExistsError):
        Webhook.create(ws, "ci", url="http://127.0.0.1:9/hook", events=["run.failed"])
    with pytest.raises(EventError, match="valid events: run.queued"):
        Webhook.create(ws, "bad", url="http://127.0.0.1:9/hook", events=["run.done"])
    with pytest.raises(EventError, match="only http and https"):
        Webhook.create(ws, "bad", url="file:///etc/passwd", events=["run.failed"])
    test = hook.send_test()
    assert test.event_type == "webhook.test" and test.id.startswith("msg_")
    assert [d.id for d in hook.get_deliveries()] == [test.id]
    assert hook.redeliver(test.id).attempts == 0
    hook.disable()
    assert Webhook.get(ws, "ci").status == "Disabled"
    hook.enable()
    hook.delete()
    with pytest.raises(NotFoundError):
        Webhook.get(ws, "ci")
    assert "run.finished" in Webhook.event_types()


def test_trigger_lifecycle_with_an_event_grid_post(ws, scripts, tmp_path) -> None:
    upload_csv(ws, tmp_path)
    published = contract_pipeline(ws, scripts).publish(name="ingest")
    trigger = Trigger.create(ws, "on-blob", event="http", pipeline_id=published.id, experiment_name="ingest",
                             pipeline_parameters={"input_data": "@triggerBody().blobPath"})
    assert (trigger.event, trigger.pipeline_id, trigger.status) == ("http", published.id, "Active")
    with pytest.raises(EventError, match="unknown event"):
        Trigger.create(ws, "bad", event="blob.created", pipeline_id=published.id, experiment_name="x")
    blob = {"id": "e1", "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2026-12-07T10:00:00Z",
            "subject": "/blobServices/default/containers/workspaceblobstore/blobs/raw/data.csv",
            "dataVersion": "", "data": {}}
    answer = trigger.post_event([blob])
    [run] = trigger.get_pipeline_runs()
    assert answer["events"][0]["runs"] == [run.id]
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert [t.outcome for t in trigger.get_ticks()] == ["fired"]
    assert trigger.post_event([blob])["events"][0]["runs"] == [run.id]  # once per event
    with pytest.raises(EventError, match="no field 'blobPath'"):
        trigger.post_event({"id": "plain"})
    trigger.disable()
    assert Trigger.get(ws, "on-blob").status == "Disabled"
    assert [t.name for t in Trigger.list(ws, active_only=True)] == []
    trigger.delete()
    with pytest.raises(NotFoundError):
        Trigger.get(ws, "on-blob")
