"""Conformance of the events methods: the outbox written with run, step and schedule changes, webhooks,
deliveries (claims, requeue after a crash), triggers and their exactly-once fires and ticks.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, ConflictError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.event_records import (
    DeliveryRecord,
    DeliveryStatus,
    EventRecord,
    TriggerRecord,
    TriggerTickRecord,
    WebhookRecord,
)
from headrace.storage.records import (
    EntityStatus,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
    TickOutcome,
)

from .conformance import T0, assert_utc, at, make_run, new_id, run_in_threads
from .conformance_datasets import version as dataset_version
from .conformance_models import version
from .conformance_publishing import publish
from .conformance_schedules import schedule, tick


def webhook(name: str = "ci", **fields: Any) -> WebhookRecord:
    values: dict[str, Any] = {"id": new_id(), "name": name, "status": EntityStatus.ACTIVE,
                              "events": ["run.finished"], "filters": {"experiment": "exp"}, "secret": "enc",
                              "created_at": T0, "updated_at": T0, "url": "https://example.org/hook"}
    values.update(fields)
    return WebhookRecord(**values)


def delivery(webhook_id: str, seconds: float = 0, **fields: Any) -> DeliveryRecord:
    values: dict[str, Any] = {"id": f"msg_{new_id()}", "webhook_id": webhook_id, "event_id": f"evt_{new_id()}",
                              "event_type": "run.finished", "payload": {"type": "run.finished", "data": {}},
                              "status": DeliveryStatus.PENDING, "created_at": at(seconds),
                              "next_attempt_at": at(seconds)}
    values.update(fields)
    return DeliveryRecord(**values)


def trigger(store: MetadataStore, name: str = "release", **fields: Any) -> TriggerRecord:
    values: dict[str, Any] = {"id": new_id(), "name": name, "event": "http", "status": EntityStatus.ACTIVE,
                              "experiment_name": "exp", "created_at": T0, "updated_at": T0,
                              "published_pipeline_id": fields.pop("published_pipeline_id", None) or publish(store).id,
                              "parameters": {"url": "@triggerBody().data.url"}}
    values.update(fields)
    return store.create_trigger(TriggerRecord(**values))


def dispatch(store: MetadataStore, items: list[DeliveryRecord], first: int = 0) -> None:
    """Queue ``items`` as the dispatcher does: their events marked dispatched with them, in this order."""
    events = [EventRecord(d.event_id, "run.finished", at(first + n), {}) for n, d in enumerate(items)]
    store.add_events(events)
    store.mark_events_dispatched([e.id for e in events], items, at(first))


def types(store: MetadataStore) -> list[str]:
    return [e.type for e in reversed(store.list_events(limit=1000))]


class EventConformance:
    """Events methods; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_run_changes_write_their_events(self, store: MetadataStore) -> None:
        run, steps = make_run(store, steps=["a"])
        store.claim_run("agent-1", at(60), run.id)
        store.update_step_run(steps[0].id, status=StepStatus.FAILED, error="boom", exit_code=3)
        store.update_run(run.id, status=RunStatus.FAILED, error="step a failed", ended_at=at(5))
        assert types(store) == ["run.queued", "run.started", "step.failed", "run.failed"]
        failed = store.list_events(type="run.failed")[0]
        assert failed.data["run_id"] == run.id and failed.data["error"] == "step a failed"
        assert failed.data["experiment_name"] == "exp" and failed.data["status"] == "Failed"
        step = store.list_events(type="step.failed")[0].data
        assert (step["step_name"], step["exit_code"], step["experiment_name"]) == ("a", 3, "exp")
        assert_utc(failed.created_at)

    def test_batched_step_failures_and_requeues(self, store: MetadataStore) -> None:
        run, steps = make_run(store, steps=["a", "b"])
        store.update_step_runs([(steps[0].id, {"status": StepStatus.FAILED}),
                                (steps[1].id, {"status": StepStatus.CANCELED})])
        store.update_run(run.id, status=RunStatus.QUEUED)  # an orphan requeued: no second run.queued
        assert types(store) == ["run.queued", "step.failed"]

    def test_a_refused_change_writes_no_event(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        with pytest.raises(ConflictError):
            store.update_run(run.id, expect=[RunStatus.RUNNING], status=RunStatus.FINISHED)
        assert types(store) == ["run.queued"]

    def test_schedule_events(self, store: MetadataStore) -> None:
        made = schedule(store)
        store.save_schedule_state(made.id, owner=None, changes={"failures": 1},
                                  ticks=[tick(made.id, 1, outcome=TickOutcome.FAILED, reason="gone")])
        store.update_schedule(made.id, status=EntityStatus.DISABLED)
        assert types(store) == ["schedule.fire_failed", "schedule.disabled"]
        assert store.list_events(type="schedule.fire_failed")[0].data["reason"] == "gone"

    def test_model_registry_changes_write_their_events(self, store: MetadataStore) -> None:
        store.add_model_version(version("churn"))
        second = store.add_model_version(version("churn"))
        store.set_model_stage("churn", 1, "Production", changed_by="user:a")
        store.set_model_stage("churn", second.version, "Production", changed_by="user:b", comment="better",
                              archive_existing=True)
        assert types(store) == ["model.version_registered"] * 2 + ["model.stage_changed"] * 3
        moves = [(e.data["version"], e.data["from_stage"], e.data["stage"])
                 for e in reversed(store.list_events(type="model.stage_changed"))]
        assert moves == [(1, "None", "Production"), (2, "None", "Production"), (1, "Production", "Archived")]
        archived = store.list_events(type="model.stage_changed")[0].data  # newest first: version 1's archiving
        first = store.get_model_version("churn", 1)
        assert (archived["model_id"], archived["model"]["id"], archived["model"]["version"]) == (first.id, first.id, 1)
        registered = store.list_events(type="model.version_registered")[0].data
        assert (registered["model_name"], registered["version"], registered["model"]["version"]) == ("churn", 2, 2)

    def test_named_dataset_versions_write_their_event(self, store: MetadataStore) -> None:
        store.add_dataset(dataset_version("iris"))
        store.add_dataset(dataset_version(None))  # saved for a run, not registered
        [event] = store.list_events()
        assert (event.type, event.data["dataset_name"], event.data["version"]) == (
            "dataset.version_registered", "iris", 1)

    def test_dispatch_marks_once_and_inserts_deliveries(self, store: MetadataStore) -> None:
        hook = store.create_webhook(webhook())
        store.add_events([EventRecord(f"evt_{i}", "run.finished", at(i), {"n": i}) for i in range(3)])
        pending = store.list_pending_events()
        assert [e.id for e in pending] == ["evt_0", "evt_1", "evt_2"]
        items = [delivery(hook.id, event_id=e.id) for e in pending]
        store.mark_events_dispatched([e.id for e in pending], items, at(10))
        assert store.list_pending_events() == []
        with pytest.raises(ConflictError):
            store.mark_events_dispatched(["evt_0"], [delivery(hook.id)], at(11))
        assert store.count_deliveries() == 3

    def test_webhooks_round_trip(self, store: MetadataStore) -> None:
        made = store.create_webhook(webhook())
        assert store.get_webhook(made.id) == made == store.get_webhook("ci")
        with pytest.raises(AlreadyExistsError):
            store.create_webhook(webhook())
        store.create_webhook(webhook("another", status=EntityStatus.DISABLED))
        assert [w.name for w in store.list_webhooks()] == ["another", "ci"]
        assert [w.name for w in store.list_webhooks(active_only=True)] == ["ci"]
        changed = store.update_webhook(made.id, status=EntityStatus.DISABLED)
        assert changed.status is EntityStatus.DISABLED
        store.add_deliveries([delivery(made.id)])
        store.delete_webhook(made.id)
        with pytest.raises(NotFoundError):
            store.get_webhook(made.id)
        assert store.count_deliveries() == 0

    def test_open_deliveries_are_pending_or_sending_ones(self, store: MetadataStore) -> None:
        assert store.has_open_deliveries() is False
        hook = store.create_webhook(webhook()).id
        item = delivery(hook)
        dispatch(store, [item])
        assert store.has_open_deliveries() is True
        [claimed] = store.claim_deliveries("a", now=at(10), lease_until=at(40))
        assert claimed.status is DeliveryStatus.SENDING and store.has_open_deliveries() is True
        store.update_delivery(item.id, status=DeliveryStatus.DELIVERED, lease_owner=None)
        assert store.has_open_deliveries() is False
        store.add_deliveries([delivery(hook, 5)])  # a test message counts too
        assert store.has_open_deliveries() is True

    def test_claims_are_exclusive_and_in_flight_ones_requeue(self, store: MetadataStore) -> None:
        hooks = [store.create_webhook(webhook(f"h{i}")).id for i in range(4)]
        queued = [delivery(h, i) for i in range(5) for h in hooks]
        dispatch(store, queued)
        tests = [delivery(hooks[0], i) for i in range(3)]
        store.add_deliveries([*tests, delivery(hooks[0], 500)])
        got = run_in_threads(4, lambda i: store.claim_deliveries(f"o{i}", now=at(100), lease_until=at(200), limit=10))
        claimed = [d for batch in got for d in batch]
        assert len({d.id for d in claimed}) == len(claimed)
        assert all(d.attempts == 1 and d.status is DeliveryStatus.SENDING for d in claimed)
        assert {d.id for d in tests} <= {d.id for d in claimed}
        for hook in hooks:  # one claimer per queue, taking a run from its head in order
            mine = [d for d in claimed if d.webhook_id == hook and d.seq is not None]
            assert mine and [d.id for d in mine] == [d.id for d in queued if d.webhook_id == hook][:len(mine)]
            assert len({d.lease_owner for d in mine}) == 1
        assert store.claim_deliveries("x", now=at(150), lease_until=at(300)) == []
        assert store.next_delivery_due() == at(500)
        assert store.requeue_deliveries(at(160)) == len(claimed)
        again = store.claim_deliveries("y", now=at(160), lease_until=at(300), limit=100)
        assert len(again) == 23 and {d.attempts for d in again if d.id in {c.id for c in claimed}} == {2}
        # An expired lease is claimable too (a process that died without a restart of its own).
        assert len(store.claim_deliveries("z", now=at(301), lease_until=at(400), limit=100)) == 23

    def test_a_queue_goes_out_in_event_order_retries_included(self, store: MetadataStore) -> None:
        hook, other = store.create_webhook(webhook()).id, store.create_webhook(webhook("other")).id
        first, second, third = (delivery(hook) for _ in range(3))
        elsewhere = delivery(other)
        dispatch(store, [first, elsewhere, second, third])
        run = store.claim_deliveries("a", now=at(10), lease_until=at(40), limit=100)
        assert [d.id for d in run] == [first.id, second.id, third.id, elsewhere.id]  # runs: oldest head first
        assert [d.last_attempt_at for d in run] == [at(10), None, None, at(10)]  # a run's head is attempted now
        # The head fails and waits (backoff); the rest of its run goes back behind it, unsent.
        store.update_deliveries([(first.id, {"status": DeliveryStatus.PENDING, "next_attempt_at": at(60)}),
                                 (elsewhere.id, {"status": DeliveryStatus.DELIVERED})]
                                + [(d.id, {"status": DeliveryStatus.PENDING, "attempts": 0}) for d in run[1:3]])
        assert store.claim_deliveries("b", now=at(20), lease_until=at(50)) == []  # 2 and 3 are due, but behind 1
        assert store.next_delivery_due() == at(60)
        test = delivery(hook, 20)
        store.add_deliveries([test])  # a test message is outside the order
        assert [d.id for d in store.claim_deliveries("b", now=at(20), lease_until=at(50))] == [test.id]
        store.update_delivery(test.id, status=DeliveryStatus.DELIVERED)
        head = store.claim_deliveries("c", now=at(60), lease_until=at(90), limit=1)
        assert [(d.id, d.attempts) for d in head] == [(first.id, 2)]
        assert store.claim_deliveries("d", now=at(61), lease_until=at(90)) == []  # one run in flight per queue
        assert store.next_delivery_due() is None
        store.update_delivery(first.id, status=DeliveryStatus.DEAD, lease_owner=None)  # never delivered: no wait
        rest = store.claim_deliveries("d", now=at(62), lease_until=at(90))
        assert [(d.id, d.attempts) for d in rest] == [(second.id, 1), (third.id, 1)]
        store.update_deliveries([(d.id, {"status": DeliveryStatus.DELIVERED}) for d in rest])
        later = delivery(hook)
        dispatch(store, [later], first=9)
        assert store.get_delivery(later.id).seq == max(d.seq or 0 for d in run) + 1  # at the end of the line

    def test_delivery_updates_and_log(self, store: MetadataStore) -> None:
        hook = store.create_webhook(webhook())
        first, second = delivery(hook.id, 1), delivery(hook.id, 2)
        store.add_deliveries([first, second])
        store.update_deliveries([(first.id, {"status": DeliveryStatus.DELIVERED, "response_code": 204,
                                             "latency_ms": 3.5})])
        done = store.get_delivery(first.id)
        assert (done.status, done.response_code, done.latency_ms) == (DeliveryStatus.DELIVERED, 204, 3.5)
        assert [d.id for d in store.list_deliveries(hook.id)] == [second.id, first.id]
        assert store.count_deliveries("delivered") == 1
        with pytest.raises(NotFoundError):
            store.add_deliveries([delivery("missing")])
        assert store.prune_events(at(10)) == 1

    def test_triggers_round_trip_and_fire_once(self, store: MetadataStore) -> None:
        made = trigger(store)
        assert store.get_trigger(made.id) == made == store.get_trigger("release")
        with pytest.raises(AlreadyExistsError):
            trigger(store, published_pipeline_id=made.published_pipeline_id)
        with pytest.raises(NotFoundError):
            trigger(store, "other", published_pipeline_id="missing")
        assert [t.name for t in store.list_triggers(active_only=True, event="http")] == ["release"]
        assert store.list_triggers(event="run.finished") == []
        exp = store.get_or_create_experiment("exp")
        pipeline = store.get_or_create_pipeline("hash-t", {"steps": []})

        def attempt(_: int) -> tuple[RunRecord, bool]:
            run = RunRecord(new_id(), exp.id, exp.name, pipeline.id, RunStatus.QUEUED, T0, {})
            tick = TriggerTickRecord(new_id(), made.id, at(1), "fired", "eventgrid:1", "", [run.id])
            return store.create_triggered_run(run, [StepRunRecord(new_id(), run.id, "s", StepStatus.NOT_STARTED, T0)],
                                              trigger_id=made.id, fire_key="eventgrid:1", tick=tick)

        results = run_in_threads(4, attempt)
        assert sum(created for _, created in results) == 1
        assert len({run.id for run, _ in results}) == 1
        # Only the winner's tick went in, with its run.
        assert [t.run_ids for t in store.list_trigger_ticks(made.id)] == [[results[0][0].id]]
        assert store.update_trigger(made.id, status=EntityStatus.DISABLED).status is EntityStatus.DISABLED
        store.delete_trigger(made.id)
        with pytest.raises(NotFoundError):
            store.get_trigger(made.id)
        assert store.get_run(results[0][0].id).status is RunStatus.QUEUED  # runs stay
