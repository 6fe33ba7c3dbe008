"""Conformance of ``create_run_once`` and ``prune_run_keys``: exactly-once run creation under a key.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunRecord, RunStatus, StepRunRecord, StepStatus

from .conformance import PLUS_TWO, T0, assert_utc, at, make_run, new_id, run_in_threads


def new_run(
    store: MetadataStore, *, created_at: datetime = T0, steps: Sequence[str] = ("only",)
) -> tuple[RunRecord, list[StepRunRecord]]:
    """A run (not stored yet) with step runs named ``steps``; its experiment and pipeline exist."""
    exp = store.get_or_create_experiment("exp")
    pipeline = store.get_or_create_pipeline("hash-1", {})
    run = RunRecord(new_id(), exp.id, exp.name, pipeline.id, RunStatus.QUEUED, created_at, {"a": 1})
    step_runs = [StepRunRecord(new_id(), run.id, name, StepStatus.NOT_STARTED, created_at) for name in steps]
    return run, step_runs


def all_runs(store: MetadataStore) -> list[RunRecord]:
    page, cursor = store.list_runs(limit=1000)
    assert cursor is None
    return page


class RunKeyConformance:
    """``create_run_once`` and ``prune_run_keys``; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_create_run_once_creates_then_returns_the_first_run(self, store: MetadataStore) -> None:
        run, steps = new_run(store, steps=["a", "b"])
        created, is_new = store.create_run_once(run, steps, key="k1", not_before=at(-60))
        assert is_new and created == run
        assert_utc(created.created_at)
        assert store.list_step_runs(run.id) == steps

        again, again_steps = new_run(store, created_at=at(5))
        found, is_new = store.create_run_once(again, again_steps, key="k1", not_before=at(-60))
        assert not is_new and found == run
        assert [r.id for r in all_runs(store)] == [run.id]
        with pytest.raises(NotFoundError):
            store.get_step_run(again_steps[0].id)

    def test_create_run_once_with_other_keys_creates_other_runs(self, store: MetadataStore) -> None:
        made = [store.create_run_once(*new_run(store), key=f"k{i}", not_before=at(-60)) for i in range(3)]
        assert [is_new for _, is_new in made] == [True, True, True]
        assert len({run.id for run, _ in made}) == 3
        plain, _ = make_run(store)  # runs created without a key do not interfere
        assert len(all_runs(store)) == 4 and plain.id not in {run.id for run, _ in made}

    def test_key_created_exactly_at_not_before_is_still_live(self, store: MetadataStore) -> None:
        first, _ = store.create_run_once(*new_run(store, created_at=at(10)), key="k", not_before=at(0))
        found, is_new = store.create_run_once(*new_run(store, created_at=at(20)), key="k", not_before=at(10))
        assert not is_new and found.id == first.id
        # The same instant in another timezone is the same instant.
        edge = datetime(2026, 3, 1, 14, 0, 10, 123456, tzinfo=PLUS_TWO)
        assert edge == at(10)
        assert store.create_run_once(*new_run(store), key="k", not_before=edge) == (found, False)

    def test_expired_key_is_replaced(self, store: MetadataStore) -> None:
        old, _ = store.create_run_once(*new_run(store, created_at=at(0)), key="k", not_before=at(-60))
        run, steps = new_run(store, created_at=at(100))
        created, is_new = store.create_run_once(run, steps, key="k", not_before=at(50))
        assert is_new and created == run and created.id != old.id
        assert store.list_step_runs(run.id) == steps
        # The replacement is now the live one; the old run itself is kept.
        later, _ = new_run(store, created_at=at(120))
        assert store.create_run_once(later, [], key="k", not_before=at(50)) == (run, False)
        assert store.get_run(old.id) == old
        assert {r.id for r in all_runs(store)} == {old.id, run.id}

    def test_create_run_once_is_exactly_once_across_threads(self, store: MetadataStore) -> None:
        candidates = [new_run(store, created_at=at(i)) for i in range(8)]
        results = run_in_threads(
            8, lambda i: store.create_run_once(*candidates[i], key="raced", not_before=at(-60))
        )
        assert len({run.id for run, _ in results}) == 1
        assert sum(is_new for _, is_new in results) == 1
        winner = results[0][0]
        assert [r.id for r in all_runs(store)] == [winner.id]
        assert len(store.list_step_runs(winner.id)) == 1

    def test_expired_key_is_replaced_once_across_threads(self, store: MetadataStore) -> None:
        old, _ = store.create_run_once(*new_run(store, created_at=at(0)), key="raced", not_before=at(-60))
        candidates = [new_run(store, created_at=at(100 + i)) for i in range(8)]
        results = run_in_threads(
            8, lambda i: store.create_run_once(*candidates[i], key="raced", not_before=at(50))
        )
        assert len({run.id for run, _ in results}) == 1
        assert sum(is_new for _, is_new in results) == 1
        assert {r.id for r in all_runs(store)} == {old.id, results[0][0].id}

    def test_failed_create_run_once_leaves_the_key_free(self, store: MetadataStore) -> None:
        run, steps = new_run(store)
        with pytest.raises(ValueError, match="belong"):
            store.create_run_once(
                run, [dataclasses.replace(steps[0], run_id="other")], key="k", not_before=at(-60)
            )
        orphan = dataclasses.replace(run, experiment_id="no-such-experiment")
        with pytest.raises(NotFoundError) as info:
            store.create_run_once(orphan, [], key="k", not_before=at(-60))
        assert info.value.kind == "experiment"
        taken, _ = make_run(store)
        with pytest.raises(AlreadyExistsError) as info:
            store.create_run_once(dataclasses.replace(run, id=taken.id), [], key="k", not_before=at(-60))
        assert info.value.kind == "run"
        assert store.create_run_once(run, steps, key="k", not_before=at(-60)) == (run, True)

    def test_prune_run_keys_forgets_old_keys(self, store: MetadataStore) -> None:
        first = {}
        for i, stamp in enumerate((0, 10, 20)):
            first[i], _ = store.create_run_once(
                *new_run(store, created_at=at(stamp)), key=f"k{i}", not_before=at(-60)
            )
        assert store.prune_run_keys(at(15)) == 2
        assert store.prune_run_keys(at(15)) == 0
        # A pruned key creates a new run even with a not_before it would have passed; the rest hold.
        again, is_new = store.create_run_once(
            *new_run(store, created_at=at(30)), key="k0", not_before=at(-60)
        )
        assert is_new and again.id != first[0].id
        assert store.create_run_once(*new_run(store), key="k2", not_before=at(-60)) == (first[2], False)
        assert store.get_run(first[0].id) == first[0]  # pruning a key keeps its run
