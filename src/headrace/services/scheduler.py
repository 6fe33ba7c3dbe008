"""The scheduler: finds due schedules, fires them exactly once, and records every evaluation.

One pass (``run_pending``) leases the due schedules (no other process evaluates them meanwhile),
evaluates each, and saves its new position with a tick record in one transaction. A fire's run is
created under a deterministic key, (schedule, slot) or (schedule, path, version), so a crash
between "run created" and "position saved", or a second scheduler on the same database, finds the
first run instead of making another.

Time schedules: the slots due since the saved ``next_fire_at`` are split into on-time ones (late by
less than ``misfire_grace_seconds``) and missed ones (the scheduler was down or stalled). On-time
slots fire. Missed slots follow the schedule's ``misfire`` policy: ``latest`` (default) fires the
most recent one, tagged ``catch_up``, unless an on-time slot already fires; ``skip`` fires none;
``all`` fires up to ``misfire_cap`` of the most recent. Every slot not fired is named in the tick.

Datastore schedules: each poll lists the folder and compares it with the saved cursor (path ->
version). Each added or changed file fires once; deleted files only leave the cursor. A failed
listing is recorded and retried at the next poll, with the cursor untouched, so a change made
during an outage fires once the store answers again. A file whose fire fails stays out of the
cursor and is retried at the next poll.

Clock: everything reads ``headrace.clock.now()``, so tests drive the scheduler with a fake clock
and call ``run_pending()`` directly; the background thread only decides when to call it.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from headrace import clock
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import ConflictError, HeadraceError, StoreError
from headrace.services import schedules as sched
from headrace.services.bundle import Services
from headrace.storage.records import RunRecord, ScheduleKind, ScheduleRecord, ScheduleTickRecord, TickOutcome

log = logging.getLogger(__name__)

SCAN_LIMIT = 10_000  # missed slots counted one by one before jumping ahead to now


@dataclass
class PassResult:
    """What one ``run_pending`` pass did."""

    evaluated: int = 0
    runs: list[str] = field(default_factory=list)
    failed: int = 0


@dataclass
class _Outcome:
    """One evaluation's result, before it becomes a tick."""

    fired: list[tuple[datetime, RunRecord, bool]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def tick(self, record: ScheduleRecord, now: datetime, slot: datetime | None,
             before: str | None, after: str | None) -> ScheduleTickRecord:
        if self.errors:
            outcome = TickOutcome.FAILED
        elif self.fired:
            outcome = TickOutcome.FIRED
        else:
            outcome = TickOutcome.SKIPPED
        reasons = list(self.errors) + list(self.notes)
        reasons += [f"run {run.id} already existed for this fire (recovered)" for _, run, new in self.fired if not new]
        return ScheduleTickRecord(
            id=uuid.uuid4().hex, schedule_id=record.id, evaluated_at=now, outcome=outcome,
            reason="; ".join(reasons), slot_time=slot, cursor_before=before, cursor_after=after,
            run_ids=[run.id for _, run, _ in self.fired],
        )


class Scheduler:
    """Evaluates due schedules; ``start()`` runs it on a background thread.

    Args:
        svc: the services bundle.
        owner: this scheduler's lease owner id (default: host:pid:random).
        lease_seconds: how long a claimed schedule stays ours; another scheduler takes it over after.
        misfire_grace_seconds: a slot later than this is "missed" and follows the misfire policy.
        history_days: ticks and fire keys older than this are pruned (hourly).
        max_sleep_seconds: the longest the thread sleeps between passes (schedules created by
            other processes are seen within this delay).
        workers: schedules of one batch evaluated at once (threads).
        after_fire: test hook called after each fire's run exists, before the position is saved.
    """

    def __init__(
        self,
        svc: Services,
        *,
        owner: str | None = None,
        lease_seconds: float = 60.0,
        batch_size: int = 100,
        misfire_grace_seconds: float = 60.0,
        history_days: float = 7.0,
        max_sleep_seconds: float = 1.0,
        workers: int = 4,
        after_fire: Callable[[ScheduleRecord, RunRecord], None] | None = None,
    ):
        self.svc = svc
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self.grace = timedelta(seconds=misfire_grace_seconds)
        self.history = timedelta(days=history_days)
        self.max_sleep = max_sleep_seconds
        self.workers = workers
        self.after_fire = after_fire
        self._cursors: dict[str, tuple[int, dict[str, str]]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune: datetime | None = None
        svc.on_schedules_changed.append(self.wake)

    # -- one pass ---------------------------------------------------------------------------

    def run_pending(self) -> PassResult:
        """Evaluate every schedule due now (in batches); returns what was done."""
        result = PassResult()
        while True:
            now = clock.now()
            batch = self.svc.store.claim_due_schedules(
                self.owner, now=now, lease_until=now + self.lease, limit=self.batch_size)
            if self.workers > 1 and len(batch) > 1:
                # Fires are I/O bound (commits): on PostgreSQL several evaluations overlap their waits.
                with ThreadPoolExecutor(min(self.workers, len(batch))) as pool:
                    outcomes = list(pool.map(self._evaluate_safely, batch))
            else:
                outcomes = [self._evaluate_safely(record) for record in batch]
            for runs in outcomes:
                if runs is None:
                    result.failed += 1
                else:
                    result.runs.extend(runs)
                result.evaluated += 1
            if len(batch) < self.batch_size:
                break
        self._prune(clock.now())
        return result

    def _evaluate_safely(self, record: ScheduleRecord) -> list[str] | None:
        """``evaluate``; None when it failed (logged). Store errors propagate: the pass stops."""
        try:
            return self.evaluate(record)
        except ConflictError:
            log.info("schedule %s: lease lost during evaluation; its next owner takes over", record.id)
            return []
        except StoreError:
            raise
        except Exception:  # a bug must not stop every other schedule
            log.exception("schedule %s: evaluation failed", record.id)
            return None

    def evaluate(self, record: ScheduleRecord) -> list[str]:
        """Evaluate one leased schedule; returns the ids of the runs its fires produced."""
        if record.kind is ScheduleKind.DATASTORE:
            return self._poll(record)
        return self._tick_time(record)

    # -- time schedules ---------------------------------------------------------------------

    def _tick_time(self, record: ScheduleRecord) -> list[str]:
        now = clock.now()
        rec = ScheduleRecurrence.from_dict(record.trigger)
        due, dropped, upcoming = self._due_slots(rec, record, now)
        on_time = [s for s in due if now - s < self.grace]
        missed = [s for s in due if now - s >= self.grace]
        if not missed:
            chosen = on_time
        elif record.misfire == "all":
            chosen = missed[-record.misfire_cap:] + on_time
        elif record.misfire == "latest" and not on_time:
            chosen = missed[-1:]
        else:
            chosen = on_time
        out = _Outcome()
        skipped = dropped + len(due) - len(chosen)
        if skipped:
            out.notes.append(f"skipped {skipped} missed slot(s) (misfire={record.misfire})"
                             f", the latest at {missed[-1].isoformat() if missed else '?'}")
        for slot in chosen:
            tags = {"trigger": "recurrence"}
            if slot in missed:
                tags["catch_up"] = "true"
            # Keys and tags in UTC: a slot read back from the store and the same slot computed in the
            # schedule's zone print different offsets.
            slot = slot.astimezone(UTC)
            self._fire(record, out, slot, f"slot:{slot.isoformat()}", tags)
        changes = {"next_fire_at": upcoming, "lease_owner": None, "lease_expires_at": None, "failures": 0}
        if out.fired:
            changes["last_fire_at"] = out.fired[-1][0]
            changes["last_run_id"] = out.fired[-1][1].id
        if upcoming is None:
            out.notes.append("no slot left before end_time")
        tick = out.tick(record, now, due[-1] if due else None, _iso(record.next_fire_at), _iso(upcoming))
        self.svc.store.save_schedule_state(record.id, owner=self.owner, changes=changes, ticks=[tick])
        return [run.id for _, run, _ in out.fired]

    def _due_slots(self, rec: ScheduleRecurrence, record: ScheduleRecord, now: datetime
                   ) -> tuple[list[datetime], int, datetime | None]:
        """(slots due at ``now``, the latest ``misfire_cap + 1``), how many earlier ones were dropped,
        and the first slot after now."""
        keep: collections.deque[datetime] = collections.deque(maxlen=record.misfire_cap + 1)
        seen = 0
        slot = record.next_fire_at
        while slot is not None and slot <= now:
            keep.append(slot)
            seen += 1
            if seen % SCAN_LIMIT == 0 and len(keep) > 1:
                # Down for a long time: jump close to now instead of walking every slot.
                step = keep[-1] - keep[-2]
                jump = rec.next_run(now - step * (record.misfire_cap + 2), anchor=record.anchor)
                if jump is not None and jump > slot:
                    slot = jump
                    keep.clear()
                    continue
            slot = rec.next_run(slot, anchor=record.anchor)
        due = list(keep)
        return due, seen - len(due), slot

    # -- datastore schedules ----------------------------------------------------------------

    def _poll(self, record: ScheduleRecord) -> list[str]:
        now = clock.now()
        trigger = record.trigger
        next_poll = now + timedelta(minutes=trigger["polling_interval"])
        rev, cursor = self._cursor(record)
        before = f"rev {rev}, {len(cursor)} file(s)"
        base = {"next_fire_at": next_poll, "lease_owner": None, "lease_expires_at": None}
        try:
            # Nothing seen yet (the folder may not exist yet): a missing folder is just empty.
            listing = sched.list_watched(self.svc, trigger, missing_ok=not cursor)
        except HeadraceError as exc:
            if isinstance(exc, StoreError):
                raise
            tick = ScheduleTickRecord(
                id=uuid.uuid4().hex, schedule_id=record.id, evaluated_at=now, outcome=TickOutcome.FAILED,
                reason=f"listing failed, will retry at the next poll: {exc}", slot_time=now,
                cursor_before=before, cursor_after=before)
            self.svc.store.save_schedule_state(
                record.id, owner=self.owner, changes={**base, "failures": record.failures + 1}, ticks=[tick])
            return []
        changed = {p: v for p, v in sorted(listing.items()) if cursor.get(p) != v}
        removed = [p for p in cursor if p not in listing]
        out = _Outcome()
        done: dict[str, str] = {}
        if changed and trigger.get("batch"):
            digest = hashlib.sha256(json.dumps(sorted(changed.items())).encode()).hexdigest()[:32]
            tags = {"trigger": "files", "files": json.dumps(sorted(changed))}
            if self._fire(record, out, now, f"batch:{digest}", tags, data_path=trigger["path"]):
                done = changed
        else:
            for path, version in changed.items():
                tags = {"trigger": "file", "path": path}
                if self._fire(record, out, now, f"file:{path}:{version}", tags, data_path=path):
                    done[path] = version
        if not changed:
            out.notes.append(f"no new or changed file among {len(listing)}")
        if removed:
            out.notes.append(f"{len(removed)} file(s) deleted (deletions do not fire)")
        changes = {**base, "failures": 0}
        if out.fired:
            changes["last_fire_at"] = now
            changes["last_run_id"] = out.fired[-1][1].id
        files = (done, removed) if done or removed else None
        after_rev = rev + 1 if files else rev
        after = f"rev {after_rev}, {len(cursor) + len([p for p in done if p not in cursor]) - len(removed)} file(s)"
        tick = out.tick(record, now, now, before, after)
        saved = self.svc.store.save_schedule_state(record.id, owner=self.owner, changes=changes, ticks=[tick],
                                                   files=files)
        if files:
            merged = {p: v for p, v in cursor.items() if p not in set(removed)}
            merged.update(done)
            self._cursors[record.id] = (saved.cursor_rev, merged)
        return [run.id for _, run, _ in out.fired]

    def _cursor(self, record: ScheduleRecord) -> tuple[int, dict[str, str]]:
        """The saved file cursor, from memory when this process saw the latest revision."""
        cached = self._cursors.get(record.id)
        if cached is None or cached[0] != record.cursor_rev:
            cached = (record.cursor_rev, self.svc.store.get_schedule_files(record.id))
            self._cursors[record.id] = cached
        return cached

    # -- shared -----------------------------------------------------------------------------

    def _fire(self, record: ScheduleRecord, out: _Outcome, slot: datetime, key: str,
              tags: dict[str, str], data_path: str | None = None) -> bool:
        try:
            run, created = sched.fire(self.svc, record, slot=slot, fire_key=key, trigger_tags=tags,
                                      data_path=data_path)
        except StoreError:
            raise
        except HeadraceError as exc:
            out.errors.append(f"{tags.get('path') or slot.isoformat()}: {type(exc).__name__}: {exc}")
            return False
        out.fired.append((slot, run, created))
        if self.after_fire is not None:
            self.after_fire(record, run)
        return True

    def _prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        try:
            self.svc.store.prune_schedule_history(now - self.history)
        except StoreError:
            log.exception("pruning schedule history failed; will retry in an hour")

    # -- background thread ------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="headrace-scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
                delay = self._delay()
            except Exception:
                log.exception("scheduler pass failed; retrying")
                delay = self.max_sleep
            self._wake.wait(delay)
            self._wake.clear()

    def _delay(self) -> float:
        due = self.svc.store.next_schedule_due()
        if due is None:
            return self.max_sleep
        return min(max((due - clock.now()).total_seconds(), 0.0), self.max_sleep)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
