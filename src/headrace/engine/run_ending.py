"""How a driven run ends: its final status and error, from why it stopped and how its steps ended. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from headrace.storage.records import RunKind, RunStatus, StepRunRecord, StepStatus

FAIL_REQUESTED = "failed on request: "
"""Prefix of a running run's error when ``run.fail()`` asked for it to stop: it then ends Failed, not Canceled."""

NOT_RUN = {"failed": "not run: the pipeline stopped after a step failed", "canceled": "not run: the run was canceled"}
"""Why a step that never ran ended Canceled, by why the run stopped."""


def final_status(stopping: str | None, steps: Iterable[StepRunRecord], kind: RunKind,
                 stored_error: Callable[[], str | None]) -> tuple[RunStatus, str | None]:
    """The run's ending: canceled (Failed when ``run.fail()`` asked, read through ``stored_error``), failed
    naming its failed steps, Finished (Completed for a script run) when every step finished, else Failed."""
    steps = list(steps)
    if stopping == "canceled":
        asked = stored_error() or ""
        if asked.startswith(FAIL_REQUESTED):
            return RunStatus.FAILED, asked.removeprefix(FAIL_REQUESTED)
        return RunStatus.CANCELED, "canceled on request"
    failed = [r for r in steps if r.status is StepStatus.FAILED]
    if failed:
        return RunStatus.FAILED, "; ".join(f"step {r.name!r} failed: {r.error}" for r in failed)
    if all(r.status is StepStatus.FINISHED for r in steps):
        # Azure ML's words: a pipeline run ends Finished, a script run Completed.
        return (RunStatus.COMPLETED if kind is RunKind.SCRIPT else RunStatus.FINISHED), None
    return RunStatus.FAILED, "some steps did not run"
