"""Event triggers through the services: headrace events, plain JSON, Azure Event Grid and S3 bodies."""

from __future__ import annotations

import pytest

from headrace.errors import ConflictError, EventError, NotFoundError
from headrace.services import events, triggers
from headrace.services.bundle import Services
from headrace.services.events import EventDispatcher
from headrace.services.publishing import submit_published
from headrace.storage.records import RunStatus


def blob_created(event_id: str, path: str) -> dict:
    return {"id": event_id, "eventType": "Microsoft.Storage.BlobCreated", "topic": "/subscriptions/x/storage",
            "subject": f"/blobServices/default/containers/raw/blobs/{path}", "eventTime": "2026-12-07T10:00:00Z",
            "dataVersion": "", "metadataVersion": "1",
            "data": {"api": "PutBlob", "contentType": "text/csv", "contentLength": 10, "blobType": "BlockBlob",
                     "url": f"https://acct.blob.core.windows.net/raw/{path}"}}


def s3_put(key: str, sequencer: str) -> dict:
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventTime": "2026-12-07T10:00:00.000Z", "eventName": "ObjectCreated:Put",
                         "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": "landing", "arn": "arn:aws:s3:::landing"},
                                "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": sequencer}}}]}


def run_params(svc: Services, run_ids: list[str]) -> list[str]:
    return [svc.store.get_run(r).parameters["blob"] for r in run_ids]


def test_unknown_event_and_bad_target(svc: Services, published: str) -> None:
    with pytest.raises(EventError, match="unknown event 'model.registered'.*valid events: run.queued"):
        triggers.create_trigger(svc, "t", event="model.registered", experiment_name="e", pipeline_id=published)
    with pytest.raises(NotFoundError):
        triggers.create_trigger(svc, "t", event="http", experiment_name="e", pipeline_id="missing")
    assert triggers.list_triggers(svc) == []


def test_event_grid_handshake_and_blob_created(svc: Services, published: str) -> None:
    triggers.create_trigger(svc, "on-blob", event="http", experiment_name="ingest", pipeline_id=published,
                            pipeline_parameters={"blob": "@triggerBody().data.url"})
    handshake = [{"id": "v1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "subject": "",
                  "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}, "eventTime": "x",
                  "dataVersion": "1"}]
    assert triggers.fire_inbound(svc, "on-blob", handshake) == {
        "validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    out = triggers.fire_inbound(svc, "on-blob", [blob_created("e1", "a.csv"), blob_created("e2", "b/c.csv")])
    assert out["kind"] == "eventgrid" and [e["outcome"] for e in out["events"]] == ["fired", "fired"]
    fired = [e["runs"][0] for e in out["events"]]
    assert run_params(svc, fired) == ["https://acct.blob.core.windows.net/raw/a.csv",
                                      "https://acct.blob.core.windows.net/raw/b/c.csv"]
    again = triggers.fire_inbound(svc, "on-blob", [blob_created("e2", "b/c.csv")])  # Event Grid retries
    assert again["events"][0]["runs"] == [fired[1]] and "fired once" in again["events"][0]["reason"]
    assert len(triggers.list_runs(svc, "on-blob")) == 2
    ticks = triggers.list_ticks(svc, "on-blob")
    assert [t.outcome for t in ticks] == ["fired", "fired", "fired"]
    run = svc.store.get_run(fired[0])
    assert run.run_source == "Trigger" and run.tags["headrace.trigger"] == "on-blob"


def test_blob_and_object_events_say_where_the_object_is() -> None:
    from headrace.services import inbound

    grid = inbound.parse([blob_created("e1", "in/2026/a b.csv")]).events[0][1]
    assert (grid["container"], grid["blobPath"], grid["folderPath"], grid["fileName"]) == (
        "raw", "in/2026/a b.csv", "raw/in/2026", "a b.csv")
    s3 = inbound.parse(s3_put("in/x+y.csv", "1")).events[0][1]
    assert (s3["bucket"], s3["blobPath"], s3["folderPath"], s3["fileName"]) == ("landing", "in/x y.csv", "landing/in",
                                                                                "x y.csv")


def test_s3_notification_and_plain_json(svc: Services, published: str) -> None:
    triggers.create_trigger(svc, "s3", event="http", experiment_name="ingest", pipeline_id=published,
                            pipeline_parameters={"blob": "@triggerBody().s3.object.key"})
    out = triggers.fire_inbound(svc, "s3", s3_put("in/x.csv", "0055AED6DCD90281E5"))
    assert out["kind"] == "s3" and run_params(svc, out["events"][0]["runs"]) == ["in/x.csv"]
    triggers.create_trigger(svc, "plain", event="http", experiment_name="ingest", pipeline_id=published,
                            pipeline_parameters={"blob": "@triggerBody().path", "n": 5})
    first = triggers.fire_inbound(svc, "plain", {"id": "job-7", "path": "p.csv"})
    second = triggers.fire_inbound(svc, "plain", {"id": "job-7", "path": "p.csv"})
    assert first["events"][0]["runs"] == second["events"][0]["runs"]
    keyed = triggers.fire_inbound(svc, "plain", {"path": "q.csv"}, event_id="k1")
    assert keyed["events"][0]["id"] == "http:k1"
    assert svc.store.get_run(keyed["events"][0]["runs"][0]).parameters == {"blob": "q.csv", "n": 5}


def test_a_body_missing_a_mapped_field_fires_nothing(svc: Services, published: str) -> None:
    triggers.create_trigger(svc, "on-blob", event="http", experiment_name="ingest", pipeline_id=published,
                            pipeline_parameters={"blob": "@triggerBody().data.url"})
    bad = blob_created("e9", "x.csv")
    del bad["data"]["url"]
    with pytest.raises(EventError) as info:
        triggers.fire_inbound(svc, "on-blob", [blob_created("e8", "ok.csv"), bad])
    assert info.value.field == "data.url" and "no field 'data.url'" in str(info.value)
    assert triggers.list_runs(svc, "on-blob") == []
    with pytest.raises(EventError, match="JSON object"):
        triggers.fire_inbound(svc, "on-blob", "text")


def test_disabled_and_non_http_triggers_refuse_posts(svc: Services, published: str) -> None:
    triggers.create_trigger(svc, "t", event="http", experiment_name="e", pipeline_id=published, status="Disabled")
    with pytest.raises(ConflictError, match="disabled"):
        triggers.fire_inbound(svc, "t", {"id": "1"})
    triggers.create_trigger(svc, "r", event="run.finished", experiment_name="e", pipeline_id=published)
    with pytest.raises(ConflictError, match="listens to 'run.finished'"):
        triggers.fire_inbound(svc, "r", {"id": "1"})


def test_headrace_events_fire_triggers_once(svc: Services, published: str, dispatcher: EventDispatcher) -> None:
    triggers.create_trigger(svc, "after-train", event="run.finished", experiment_name="release",
                            pipeline_id=published, filters={"experiment": "train"},
                            pipeline_parameters={"blob": "@triggerBody().data.run_id"})
    train, _ = submit_published(svc, published, "train")
    other, _ = submit_published(svc, published, "other")
    for run in (train, other):
        svc.store.update_run(run.id, status=RunStatus.FINISHED)
    dispatcher.run_pending()
    fired = triggers.list_runs(svc, "after-train")
    assert [r.parameters["blob"] for r in fired] == [train.id]
    outcomes = sorted(t.outcome for t in triggers.list_ticks(svc, "after-train"))
    assert outcomes == ["fired", "skipped"]
    # The same event evaluated again (a crash before it was marked dispatched) makes no second run.
    event = next(e for e in svc.store.list_events(type="run.finished") if e.data["run_id"] == train.id)
    tick = triggers.evaluate_event(svc, triggers.get_trigger(svc, "after-train"), event.id,
                                   {"type": "run.finished", "data": event.data}, event.data)
    assert tick.run_ids == [fired[0].id] and len(triggers.list_runs(svc, "after-train")) == 1
    events.emit(svc, "model.stage_changed", {"model_name": "m", "version": 1, "stage": "Production"})
    dispatcher.dispatch()  # a model event (the registry emits them) goes out like any other
    assert svc.store.list_pending_events() == []
