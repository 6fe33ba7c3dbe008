"""``Frontier``: the steps a scheduling pass must look at, in graph order, as statuses change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from headrace.engine.frontier import Frontier
from headrace.storage.records import StepRunRecord, StepStatus

T0 = datetime(2026, 3, 1, tzinfo=UTC)
# a -> b, a -> c, (b, c) -> d; e is independent
STEPS = [
    {"name": "a", "depends_on": []},
    {"name": "b", "depends_on": ["a"]},
    {"name": "c", "depends_on": ["a"]},
    {"name": "d", "depends_on": ["b", "c"]},
    {"name": "e", "depends_on": []},
]


def make() -> tuple[Frontier, dict[str, StepRunRecord]]:
    records = {s["name"]: StepRunRecord(id=f"id-{s['name']}", run_id="r", name=s["name"],
                                        status=StepStatus.NOT_STARTED, created_at=T0) for s in STEPS}
    return Frontier(STEPS, records), records


def set_status(frontier: Frontier, records: dict[str, StepRunRecord], name: str, status: StepStatus) -> None:
    records[name] = dataclasses.replace(records[name], status=status)
    frontier.status_changed(name, status)


def drain(frontier: Frontier) -> list[str]:
    names = []
    while (step := frontier.first()) is not None:
        names.append(step["name"])
        frontier.pop()
    return names


def test_steps_without_upstream_can_move_first_in_graph_order():
    frontier, _ = make()
    assert drain(frontier) == ["a", "e"]


def test_a_step_can_move_once_all_its_upstream_steps_finished():
    frontier, records = make()
    drain(frontier)
    set_status(frontier, records, "a", StepStatus.RUNNING)
    assert frontier.first() is None
    set_status(frontier, records, "a", StepStatus.FINISHED)
    assert drain(frontier) == ["b", "c"]
    set_status(frontier, records, "b", StepStatus.FINISHED)
    assert frontier.first() is None  # d still waits for c
    set_status(frontier, records, "c", StepStatus.FINISHED)
    assert drain(frontier) == ["d"]


def test_a_failed_upstream_step_makes_its_dependents_movable_with_a_reason():
    frontier, records = make()
    drain(frontier)
    set_status(frontier, records, "a", StepStatus.FINISHED)
    drain(frontier)
    set_status(frontier, records, "c", StepStatus.RUNNING)
    set_status(frontier, records, "b", StepStatus.FAILED)
    step = frontier.first()
    assert step is not None and step["name"] == "d"  # not waiting for c: it can never run
    assert frontier.blocked_reason(step) == "not run: upstream step 'b' failed"


def test_a_step_is_queued_once_and_again_after_a_reset():
    frontier, records = make()
    set_status(frontier, records, "a", StepStatus.FINISHED)
    set_status(frontier, records, "a", StepStatus.FINISHED)
    assert drain(frontier) == ["b", "c", "e"]
    set_status(frontier, records, "b", StepStatus.RUNNING)
    set_status(frontier, records, "b", StepStatus.NOT_STARTED)  # an interrupted step goes back
    assert drain(frontier) == ["b"]


def test_steps_waiting_only_on_running_ones_are_upcoming():
    frontier, records = make()
    set_status(frontier, records, "a", StepStatus.RUNNING)
    assert [s["name"] for s in frontier.waiting_only_on_running("a")] == ["b", "c"]
    set_status(frontier, records, "a", StepStatus.FINISHED)
    set_status(frontier, records, "b", StepStatus.RUNNING)
    assert frontier.waiting_only_on_running("b") == []  # d also waits for c, not started yet
    set_status(frontier, records, "c", StepStatus.RUNNING)
    assert [s["name"] for s in frontier.waiting_only_on_running("c")] == ["d"]
