"""Which steps of a run can move next: the scheduling front of the step graph.

A step can move when every upstream step finished (it may start) or when one failed or was
canceled (it never will). ``Frontier`` keeps those steps in graph (topological) order and is told
when a step's status changes, so a scheduling pass looks at the few steps that can move instead
of every step of the graph: with N steps, N passes cost O(N log N), not O(N^2).
"""

from __future__ import annotations

import heapq
from typing import Any

from headrace.storage.records import StepRunRecord, StepStatus

_ENDED_BADLY = (StepStatus.FAILED, StepStatus.CANCELED)


class Frontier:
    """The movable steps of one run.

    Args:
        steps: the graph's steps, in topological order.
        records: the step run records by step name; the caller updates it in place and calls
            ``status_changed`` after each status change.
    """

    def __init__(self, steps: list[dict[str, Any]], records: dict[str, StepRunRecord]):
        self.steps = steps
        self.records = records
        self.by_name = {s["name"]: s for s in steps}
        self.position = {s["name"]: i for i, s in enumerate(steps)}
        self.dependents: dict[str, list[dict[str, Any]]] = {name: [] for name in self.by_name}
        for step in steps:
            for dep in step["depends_on"]:
                self.dependents[dep].append(step)
        self._heap: list[int] = []
        self._queued: set[str] = set()
        for step in steps:
            self._consider(step)

    def first(self) -> dict[str, Any] | None:
        """The not-started movable step earliest in graph order, or None (it stays queued until ``pop``)."""
        while self._heap:
            step = self.steps[self._heap[0]]
            if self.records[step["name"]].status is StepStatus.NOT_STARTED:
                return step
            self.pop()  # settled since it was queued
        return None

    def pop(self) -> None:
        """Take the first step off the queue."""
        self._queued.discard(self.steps[heapq.heappop(self._heap)]["name"])

    def status_changed(self, name: str, status: StepStatus) -> None:
        if status is StepStatus.NOT_STARTED:
            self._consider(self.by_name[name])
        elif status.is_terminal:
            for later in self.dependents[name]:
                self._consider(later)

    def blocked_reason(self, step: dict[str, Any]) -> str | None:
        """Why ``step`` can never run (an upstream step failed or was canceled), or None."""
        for dep in step["depends_on"]:
            rec = self.records[dep]
            if rec.status in _ENDED_BADLY:
                return f"not run: upstream step {rec.name!r} {rec.status.value.lower()}"
        return None

    def waiting_only_on_running(self, name: str) -> list[dict[str, Any]]:
        """Not-started steps downstream of ``name`` whose upstream steps all finished or are running."""
        ok = (StepStatus.FINISHED, StepStatus.RUNNING)
        return [
            step for step in self.dependents[name]
            if self.records[step["name"]].status is StepStatus.NOT_STARTED
            and all(self.records[d].status in ok for d in step["depends_on"])
        ]

    def _consider(self, step: dict[str, Any]) -> None:
        name = step["name"]
        if name in self._queued or self.records[name].status is not StepStatus.NOT_STARTED:
            return
        deps = [self.records[d].status for d in step["depends_on"]]
        if all(s is StepStatus.FINISHED for s in deps) or any(s in _ENDED_BADLY for s in deps):
            heapq.heappush(self._heap, self.position[name])
            self._queued.add(name)
