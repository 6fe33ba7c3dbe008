"""``PipelineRun.wait_for_completion``: poll the run, stream step output, raise on failure."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from headrace import clock
from headrace.errors import RunError, RunTimeoutError, StepFailedError
from headrace.storage.records import RunStatus, StepStatus


class _Streamer:
    """Prints each step's status changes and new stdout/stderr text once."""

    def __init__(self, run: Any, out: TextIO):
        self.run = run
        self.out = out
        self.seen_status: dict[str, str] = {}
        self.offsets: dict[tuple[str, str], int] = {}

    def poll(self) -> None:
        for rec in self.run._backend.list_step_runs(self.run.id):
            status = rec.status.value
            if self.seen_status.get(rec.id) != status:
                self.seen_status[rec.id] = status
                self._status_line(rec)
            if rec.status is StepStatus.RUNNING or (rec.status.is_terminal and rec.reused_from is None):
                for which in ("stdout", "stderr"):
                    self._print_new(rec, which)

    def _status_line(self, rec: Any) -> None:
        if rec.reused_from and rec.status is StepStatus.FINISHED:
            self.out.write(f"[{rec.name}] reused results of step run {rec.reused_from}\n")
        elif rec.status is not StepStatus.NOT_STARTED:
            extra = f" (exit code {rec.exit_code})" if rec.exit_code not in (None, 0) else ""
            reason = f": {rec.error}" if rec.error and rec.status is not StepStatus.FINISHED else ""
            self.out.write(f"[{rec.name}] {rec.status.value}{extra}{reason}\n")
        self.out.flush()

    def _print_new(self, rec: Any, which: str) -> None:
        key = (rec.id, which)
        text = self.run._backend.read_step_log(rec, which)
        start = self.offsets.get(key, 0)
        if len(text) > start:
            chunk = text[start:]
            if rec.status is StepStatus.RUNNING and not chunk.endswith("\n"):
                cut = chunk.rfind("\n")
                if cut < 0:
                    return  # wait for a whole line
                chunk = chunk[: cut + 1]
            self.offsets[key] = start + len(chunk)
            prefix = f"[{rec.name}] " if which == "stdout" else f"[{rec.name} stderr] "
            for line in chunk.splitlines():
                self.out.write(prefix + line + "\n")
            self.out.flush()


def wait_for_run(run: Any, show_output: bool, timeout_seconds: float | None, raise_on_error: bool) -> str:
    out = sys.stdout
    streamer = _Streamer(run, out) if show_output else None
    if show_output:
        out.write(f"{type(run).__name__} {run.id} (experiment {run.experiment.name})\n")
    deadline = None if timeout_seconds is None else clock.monotonic() + timeout_seconds
    backend = run._backend
    backend.before_wait(run.id)
    interval = backend.wait_interval()
    while True:
        marker = backend.change_marker()
        record = run._refresh()
        if streamer:
            streamer.poll()
        if record.status.is_terminal:
            break
        if deadline is not None and clock.monotonic() >= deadline:
            raise RunTimeoutError(
                f"run {run.id} still {record.status.value} after {timeout_seconds}s; "
                "call wait_for_completion again or cancel() it", run_id=run.id)
        # Woken at once when a run ends in this process; otherwise poll, backing off to 0.5 s.
        backend.wait_for_change(marker, interval)
        interval = min(interval * 1.5, 0.5)
    if show_output:
        out.write(f"{type(run).__name__} {run.id} {record.status.value}\n")
        out.flush()
    if raise_on_error and record.status is RunStatus.FAILED:
        raise _failure(run, record)
    return record.status.value


def _failure(run: Any, record: Any) -> RunError:
    steps = run._backend.list_step_runs(run.id)
    failed = [s for s in steps if s.status is StepStatus.FAILED]
    if not failed:
        return RunError(f"run {run.id} failed: {record.error}", run_id=run.id)
    first = failed[0]
    tail = first.properties.get("stderr_tail") or run._backend.read_step_log(first, "stderr")[-2000:]
    detail = first.error or ""
    if detail.startswith("exit code"):  # already in the message
        detail = ""
    return StepFailedError(run.id, first.name, first.exit_code, tail, detail=detail)
