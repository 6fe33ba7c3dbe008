"""The data behind the schedules pages, read through the services and the store (no HTML here).

The list reads every schedule once (the store has no name filter or paging for schedules; their
number is small next to runs) and the published pipelines and endpoints once, for the targets'
names: a fixed number of queries whatever the number of schedules. Rows are described in words
and cut to one page in Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from headrace import clock
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import NotFoundError
from headrace.services import schedules
from headrace.services.bundle import Services
from headrace.storage.records import (
    EntityStatus,
    RunRecord,
    ScheduleKind,
    ScheduleRecord,
    ScheduleTickRecord,
)

PAGE_SIZE = 100
TICKS_PER_PAGE = 25
RUNS_SHOWN = 20
UPCOMING = 5
STATUSES = ("all", "active", "disabled")
# A next run this far in the past means no scheduler is evaluating the schedule.
OVERDUE = timedelta(minutes=2)


@dataclass(frozen=True)
class Target:
    """What a schedule runs: a published pipeline or a pipeline endpoint."""

    kind: str  # "pipeline" or "endpoint"
    id: str
    name: str

    @property
    def href(self) -> str:
        return f"/{'endpoints' if self.kind == 'endpoint' else 'pipelines'}/{self.id}"

    @property
    def label(self) -> str:
        return "Pipeline endpoint" if self.kind == "endpoint" else "Published pipeline"


@dataclass
class ScheduleRow:
    """One schedule as the pages show it."""

    record: ScheduleRecord
    target: Target
    trigger: str
    zone: str
    next_run: datetime | None  # UTC
    next_local: str  # the next run in the schedule's zone, as text ("" when none)
    next_note: str  # why there is no next run, or that it is overdue
    recurrence: ScheduleRecurrence | None = None

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def status(self) -> str:
        return self.record.status.value

    @property
    def active(self) -> bool:
        return self.record.status is EntityStatus.ACTIVE


@dataclass
class ScheduleList:
    """One page of the schedules list, with what the filters offer."""

    rows: list[ScheduleRow]
    total: int  # schedules matching the filters, over all pages
    page: int
    pages: int
    targets: list[Target]


@dataclass
class TickRow:
    """One evaluation; the positions around it are instants for a time schedule, text for a watch."""

    tick: ScheduleTickRecord
    before: datetime | str | None
    after: datetime | str | None


@dataclass
class ScheduleDetail:
    """Everything the page of one schedule shows."""

    row: ScheduleRow
    parameters: list[tuple[str, str, str]]  # name, value as text, a note ("" or what it is)
    upcoming: list[tuple[datetime, str]]  # UTC instant, text in the schedule's zone
    ticks: list[TickRow]
    tick_page: int
    more_ticks: bool
    runs: list[RunRecord]
    more_runs: bool
    watch: dict[str, Any] = field(default_factory=dict)


def all_targets(svc: Services) -> dict[str, Target]:
    """Every published pipeline and endpoint, by id (two queries)."""
    found = {p.id: Target("pipeline", p.id, p.name) for p in svc.store.list_published_pipelines(active_only=False)}
    found.update({e.id: Target("endpoint", e.id, e.name)
                  for e in svc.store.list_pipeline_endpoints(active_only=False)})
    return found


def _target(record: ScheduleRecord, targets: Mapping[str, Target]) -> Target:
    key = record.published_pipeline_id or record.pipeline_endpoint_id or ""
    kind = "pipeline" if record.published_pipeline_id else "endpoint"
    return targets.get(key) or Target(kind, key, key)


def _zone_text(moment: datetime, zone: ZoneInfo, zone_name: str) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone_name}"


def make_row(record: ScheduleRecord, targets: Mapping[str, Target], now: datetime) -> ScheduleRow:
    """Describe one schedule: its trigger in words and its next run in its own zone."""
    recurrence = None
    zone, zone_name = ZoneInfo("UTC"), "UTC"
    if record.kind is ScheduleKind.RECURRENCE:
        recurrence = ScheduleRecurrence.from_dict(record.trigger)
        zone, zone_name = recurrence.zone, recurrence.time_zone
    next_run = record.next_fire_at.astimezone(UTC) if record.next_fire_at else None
    note = ""
    if record.status is not EntityStatus.ACTIVE:
        next_run, note = None, "none while disabled"
    elif next_run is None:
        note = "none: the end time has passed"
    elif now - next_run > OVERDUE:
        note = "overdue: is a scheduler running?"
    return ScheduleRow(
        record=record, target=_target(record, targets), trigger=schedules.describe(record), zone=zone_name,
        next_run=next_run, next_local=_zone_text(next_run, zone, zone_name) if next_run else "",
        next_note=note, recurrence=recurrence,
    )


def schedule_list(svc: Services, *, status: str = "all", query: str = "", target: str = "",
                  page: int = 1) -> ScheduleList:
    """Schedules newest first, filtered by status ("all", "active", "disabled"), a case-insensitive
    name search and a target id, ``PAGE_SIZE`` per page (``page`` counts from 1)."""
    targets = all_targets(svc)
    chosen = targets.get(target)
    records = svc.store.list_schedules(
        active_only=status == "active",
        published_pipeline_id=chosen.id if chosen and chosen.kind == "pipeline" else None,
        pipeline_endpoint_id=chosen.id if chosen and chosen.kind == "endpoint" else None,
    )
    needle = query.strip().lower()
    records = [r for r in records if (status != "disabled" or r.status is EntityStatus.DISABLED)
               and needle in r.name.lower()]
    pages = max(1, -(-len(records) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    now = clock.now()
    shown = records[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return ScheduleList(
        rows=[make_row(r, targets, now) for r in shown], total=len(records), page=page, pages=pages,
        targets=sorted(targets.values(), key=lambda t: (t.name.lower(), t.kind, t.id)),
    )


def _parameter(name: str, value: Any) -> tuple[str, str, str]:
    if isinstance(value, Mapping) and {"datastore", "path"} <= set(value):
        return name, f"{value['datastore']}/{value['path']}", "data path"
    if isinstance(value, str):
        if value.startswith("@") and not value.startswith("@@"):
            return name, value, "expression, evaluated at each fire"
        return name, value, ""
    return name, json.dumps(value), ""


def _position(value: str | None) -> datetime | str | None:
    """A tick's cursor: the next slot (ISO instant) of a time schedule, or a file cursor's text."""
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return value


def upcoming(row: ScheduleRow, count: int = UPCOMING) -> list[tuple[datetime, str]]:
    """The next ``count`` run times (poll times for a datastore watch), UTC and in the schedule's zone."""
    if row.next_run is None:
        return []
    record = row.record
    if row.recurrence is not None:
        later = row.recurrence.next_runs(row.next_run, count - 1, anchor=record.anchor)
        times = [row.next_run, *(t.astimezone(UTC) for t in later)]
        zone = row.recurrence.zone
    else:
        every = timedelta(minutes=record.trigger["polling_interval"])
        times = [row.next_run + every * k for k in range(count)]
        zone = ZoneInfo("UTC")
    return [(t, _zone_text(t, zone, row.zone)) for t in times]


def schedule_detail(svc: Services, schedule_id: str, *, tick_page: int = 1) -> ScheduleDetail:
    """One schedule with its parameters, next run times, a page of ticks and its latest runs.

    Raises:
        NotFoundError: no such schedule.
    """
    record = svc.store.get_schedule(schedule_id)
    targets: dict[str, Target] = {}
    key = record.published_pipeline_id or record.pipeline_endpoint_id
    try:
        if record.published_pipeline_id:
            found = svc.store.get_published_pipeline(record.published_pipeline_id)
            targets[found.id] = Target("pipeline", found.id, found.name)
        elif key:
            ep = svc.store.get_pipeline_endpoint(key)
            targets[ep.id] = Target("endpoint", ep.id, ep.name)
    except NotFoundError:
        pass  # shown by id
    row = make_row(record, targets, clock.now())
    tick_page = max(tick_page, 1)
    # The store pages ticks by limit only: read up to this page (plus one row, to know if more exist).
    wanted = tick_page * TICKS_PER_PAGE
    ticks = svc.store.list_schedule_ticks(record.id, limit=wanted + 1)
    runs, cursor = svc.store.list_runs(schedule_id=record.id, limit=RUNS_SHOWN)
    watch = dict(record.trigger) if record.kind is ScheduleKind.DATASTORE else {}
    return ScheduleDetail(
        row=row, parameters=[_parameter(k, v) for k, v in sorted(record.parameters.items())],
        upcoming=upcoming(row), tick_page=tick_page,
        ticks=[TickRow(t, _position(t.cursor_before), _position(t.cursor_after))
               for t in ticks[wanted - TICKS_PER_PAGE: wanted]],
        more_ticks=len(ticks) > wanted, runs=runs, more_runs=cursor is not None, watch=watch,
    )
