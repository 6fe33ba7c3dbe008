"""Conformance of the schedule methods: definitions, leases, exactly-once fires, file cursors, ticks.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from headrace.errors import ConflictError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import (
    EntityStatus,
    RunRecord,
    RunStatus,
    ScheduleKind,
    ScheduleRecord,
    ScheduleTickRecord,
    StepRunRecord,
    StepStatus,
    TickOutcome,
)

from .conformance import T0, assert_utc, at, new_id, run_in_threads
from .conformance_publishing import endpoint_of, publish


def schedule(store: MetadataStore, *, published_id: str | None = None, files: dict[str, str] | None = None,
             **fields: Any) -> ScheduleRecord:
    if published_id is None and "pipeline_endpoint_id" not in fields:
        published_id = publish(store).id
    values: dict[str, Any] = {
        "id": new_id(), "name": "nightly", "kind": ScheduleKind.RECURRENCE, "status": EntityStatus.ACTIVE,
        "experiment_name": "exp", "trigger": {"frequency": "Minute", "interval": 15},
        "created_at": T0, "updated_at": T0, "anchor": T0, "published_pipeline_id": published_id,
        "parameters": {"alpha": "@trigger().scheduledTime"}, "next_fire_at": at(60),
    }
    values.update(fields)
    return store.create_schedule(ScheduleRecord(**values), files)


def scheduled_run(store: MetadataStore, schedule_id: str, created_at: Any = T0) -> tuple[RunRecord, list[StepRunRecord]]:
    exp = store.get_or_create_experiment("exp")
    pipeline = store.get_or_create_pipeline("hash-1", {"steps": []})
    run = RunRecord(new_id(), exp.id, exp.name, pipeline.id, RunStatus.QUEUED, created_at, {},
                    schedule_id=schedule_id)
    return run, [StepRunRecord(new_id(), run.id, "only", StepStatus.NOT_STARTED, created_at)]


def tick(schedule_id: str, seconds: float, outcome: TickOutcome = TickOutcome.FIRED, **fields: Any) -> ScheduleTickRecord:
    return ScheduleTickRecord(new_id(), schedule_id, at(seconds), outcome, **fields)


class ScheduleConformance:
    """Schedule methods; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_create_get_round_trip(self, store: MetadataStore) -> None:
        made = schedule(store, description="d", continue_on_step_failure=True, misfire="all", misfire_cap=3)
        got = store.get_schedule(made.id)
        assert got == made
        assert got.kind is ScheduleKind.RECURRENCE and got.status is EntityStatus.ACTIVE
        assert got.trigger == {"frequency": "Minute", "interval": 15}
        assert got.parameters == {"alpha": "@trigger().scheduledTime"}
        for value in (got.created_at, got.anchor, got.next_fire_at):
            assert_utc(value)

    def test_get_missing_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            store.get_schedule("nope")
        assert info.value.kind == "schedule"

    def test_create_for_unknown_published_pipeline_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            schedule(store, published_id="missing")
        assert info.value.key == "missing"
        assert store.list_schedules() == []

    def test_list_filters(self, store: MetadataStore) -> None:
        pp = publish(store)
        ep = endpoint_of(store)
        a = schedule(store, published_id=pp.id, created_at=at(1))
        b = schedule(store, published_id=pp.id, created_at=at(2), status=EntityStatus.DISABLED)
        c = schedule(store, pipeline_endpoint_id=ep.id, created_at=at(3))
        assert [s.id for s in store.list_schedules()] == [c.id, b.id, a.id]
        assert [s.id for s in store.list_schedules(active_only=True)] == [c.id, a.id]
        assert [s.id for s in store.list_schedules(published_pipeline_id=pp.id)] == [b.id, a.id]
        assert [s.id for s in store.list_schedules(pipeline_endpoint_id=ep.id)] == [c.id]

    def test_update_and_owner_condition(self, store: MetadataStore) -> None:
        s = schedule(store)
        changed = store.update_schedule(s.id, status=EntityStatus.DISABLED, parameters={"x": 1}, updated_at=at(5))
        assert changed.status is EntityStatus.DISABLED and changed.parameters == {"x": 1}
        assert store.get_schedule(s.id) == changed
        with pytest.raises(ConflictError):
            store.update_schedule(s.id, owner="someone", next_fire_at=at(9))
        with pytest.raises(NotFoundError):
            store.update_schedule("nope", name="x")
        with pytest.raises(ValueError, match="kind"):
            store.update_schedule(s.id, kind=ScheduleKind.DATASTORE)

    def test_delete_removes_history_but_keeps_runs(self, store: MetadataStore) -> None:
        s = schedule(store, files={"a.csv": "v1"})
        run, steps = scheduled_run(store, s.id)
        store.create_scheduled_run(run, steps, fire_key="slot:1")
        store.add_schedule_ticks([tick(s.id, 1)])
        store.delete_schedule(s.id)
        with pytest.raises(NotFoundError):
            store.get_schedule(s.id)
        assert store.get_run(run.id).schedule_id == s.id
        assert store.get_schedule_files(s.id) == {}
        assert store.list_schedule_ticks(s.id) == []
        with pytest.raises(NotFoundError):
            store.delete_schedule(s.id)

    def test_claim_due_takes_due_active_unleased_earliest_first(self, store: MetadataStore) -> None:
        late = schedule(store, next_fire_at=at(30))
        early = schedule(store, next_fire_at=at(10))
        schedule(store, next_fire_at=at(100))  # not due
        schedule(store, next_fire_at=at(5), status=EntityStatus.DISABLED)
        schedule(store, next_fire_at=None)  # ended
        claimed = store.claim_due_schedules("me", now=at(50), lease_until=at(80))
        assert [s.id for s in claimed] == [early.id, late.id]
        assert all(s.lease_owner == "me" and s.lease_expires_at == at(80) for s in claimed)
        assert store.claim_due_schedules("other", now=at(60), lease_until=at(90)) == []
        # An expired lease is taken over.
        again = store.claim_due_schedules("other", now=at(81), lease_until=at(120), limit=1)
        assert [s.id for s in again] == [early.id]
        # Leased schedules count from their lease expiry: late (lease to 80) comes before the rest.
        assert store.next_schedule_due() == at(80)

    def test_next_schedule_due_none_without_active_schedules(self, store: MetadataStore) -> None:
        assert store.next_schedule_due() is None
        schedule(store, status=EntityStatus.DISABLED)
        assert store.next_schedule_due() is None
        schedule(store, next_fire_at=at(7))
        assert store.next_schedule_due() == at(7)

    def test_claim_due_is_exactly_once_under_races(self, store: MetadataStore) -> None:
        made = {schedule(store, next_fire_at=at(i)).id for i in range(20)}

        def claim(i: int) -> list[str]:
            won: list[str] = []
            while batch := store.claim_due_schedules(f"s{i}", now=at(50), lease_until=at(500), limit=3):
                won.extend(s.id for s in batch)
            return won

        claims = [sid for won in run_in_threads(6, claim) for sid in won]
        assert sorted(claims) == sorted(made)

    def test_scheduled_run_is_created_once_per_fire_key(self, store: MetadataStore) -> None:
        s = schedule(store)
        candidates = [scheduled_run(store, s.id, at(i)) for i in range(8)]
        results = run_in_threads(8, lambda i: store.create_scheduled_run(*candidates[i], fire_key="slot:T"))
        assert len({run.id for run, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        page, _ = store.list_runs(schedule_id=s.id)
        assert [r.id for r in page] == [results[0][0].id]
        other, created = store.create_scheduled_run(*scheduled_run(store, s.id), fire_key="slot:T2")
        assert created and other.id != results[0][0].id
        assert len(store.list_runs(schedule_id=s.id)[0]) == 2

    def test_scheduled_run_needs_schedule_id(self, store: MetadataStore) -> None:
        run, steps = scheduled_run(store, "x")
        with pytest.raises(ValueError):
            store.create_scheduled_run(dataclasses.replace(run, schedule_id=None), steps, fire_key="k")
        with pytest.raises(NotFoundError):
            store.create_scheduled_run(run, steps, fire_key="k")

    def test_save_state_applies_changes_ticks_and_files_atomically(self, store: MetadataStore) -> None:
        s = schedule(store, kind=ScheduleKind.DATASTORE, files={"a": "1", "b": "1", "c": "1"})
        assert store.get_schedule_files(s.id) == {"a": "1", "b": "1", "c": "1"}
        [claimed] = store.claim_due_schedules("me", now=at(70), lease_until=at(100))
        saved = store.save_schedule_state(
            s.id, owner="me",
            changes={"next_fire_at": at(120), "lease_owner": None, "lease_expires_at": None, "last_run_id": "r"},
            ticks=[tick(s.id, 70, run_ids=["r"], cursor_before="rev 0", cursor_after="rev 1")],
            files=({"a": "2", "d": "1"}, ["c"]),
        )
        assert saved.cursor_rev == claimed.cursor_rev + 1
        assert saved.next_fire_at == at(120) and saved.lease_owner is None
        assert store.get_schedule_files(s.id) == {"a": "2", "b": "1", "d": "1"}
        [t] = store.list_schedule_ticks(s.id)
        assert t.run_ids == ["r"] and t.outcome is TickOutcome.FIRED and t.cursor_after == "rev 1"
        # Without the lease nothing is written, ticks and files included.
        with pytest.raises(ConflictError):
            store.save_schedule_state(s.id, owner="me", changes={"failures": 3}, ticks=[tick(s.id, 90)],
                                      files=({"z": "1"}, []))
        assert store.get_schedule(s.id).failures == 0
        assert "z" not in store.get_schedule_files(s.id)
        assert len(store.list_schedule_ticks(s.id)) == 1

    def test_ticks_newest_first_limited_and_pruned(self, store: MetadataStore) -> None:
        s = schedule(store)
        store.add_schedule_ticks([tick(s.id, i, TickOutcome.SKIPPED, reason=f"r{i}") for i in range(5)])
        listed = store.list_schedule_ticks(s.id, limit=3)
        assert [t.reason for t in listed] == ["r4", "r3", "r2"]
        assert_utc(listed[0].evaluated_at)
        run, steps = scheduled_run(store, s.id, at(1))
        store.create_scheduled_run(run, steps, fire_key="old")
        assert store.prune_schedule_history(at(3)) == 3 + 1
        assert [t.reason for t in store.list_schedule_ticks(s.id)] == ["r4", "r3"]
        # The fire key is gone, so the same key now makes a new run.
        _, created = store.create_scheduled_run(*scheduled_run(store, s.id, at(10)), fire_key="old")
        assert created
