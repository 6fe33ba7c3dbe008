"""The data behind the runs list page, read through the services: filters, rows and keyset paging.

The list never loads more than a page of runs: filters go to the store's ``list_runs``, paging uses
its keyset cursor, and the names shown per row come from the few lists the filter form needs anyway,
so a page costs a bounded number of queries whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from headrace import clock
from headrace.errors import ConfigError
from headrace.services import runs as run_service
from headrace.services.bundle import Services
from headrace.storage.records import (
    PublishedPipelineRecord,
    RunRecord,
    RunStatus,
)

__all__ = [
    "FILTER_NAMES",
    "LIVE_RUN",
    "MAX_TRAIL",
    "PAGE_SIZE",
    "Choices",
    "RunFilters",
    "RunRow",
    "RunsPage",
    "choices",
    "duration",
    "parse_back",
    "parse_time",
    "runs_page",
    "utc",
]

PAGE_SIZE = 50
MAX_TRAIL = 100  # pages "Previous" can walk back through; beyond, it goes to the first page
LIVE_RUN = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED, RunStatus.RUNNING})
FILTER_NAMES = ("experiment", "published_pipeline_id", "pipeline_endpoint_id", "schedule_id", "status", "created_from",
                "created_to")


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(text: str, what: str, *, end_of_minute: bool = False) -> datetime | None:
    """A ``datetime-local`` value (UTC) as an aware datetime; None when empty.

    With ``end_of_minute``, a value without seconds means the end of that minute (an inclusive "to").

    Raises:
        ConfigError: not a date and time.
    """
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a date and time (use YYYY-MM-DDTHH:MM, UTC)") from None
    if end_of_minute and len(text) <= 16:
        value += timedelta(seconds=59, microseconds=999_999)
    return utc(value)


@dataclass
class RunFilters:
    """What the runs list is narrowed to, as typed in the form (empty: no filter)."""

    experiment: str = ""
    published_pipeline_id: str = ""
    pipeline_endpoint_id: str = ""
    schedule_id: str = ""
    status: str = ""  # "", "active" (queued or running) or a RunStatus value
    created_from: str = ""
    created_to: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> RunFilters:
        return cls(**{name: str(query.get(name, "")).strip() for name in FILTER_NAMES})

    def store_filters(self) -> dict[str, Any]:
        """Keyword arguments of ``list_runs``.

        Raises:
            ConfigError: an unknown status.
        """
        out: dict[str, Any] = {}
        if self.status == "active":
            out["statuses"] = [RunStatus.QUEUED, RunStatus.RUNNING]
        elif self.status:
            try:
                out["statuses"] = [RunStatus(self.status)]
            except ValueError:
                valid = ", ".join(["active", *(s.value for s in RunStatus)])
                raise ConfigError(f"unknown status {self.status!r}; choose one of {valid}") from None
        if self.experiment:
            out["experiment_name"] = self.experiment
        for name in ("published_pipeline_id", "pipeline_endpoint_id", "schedule_id"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """(created from, created to), both inclusive. Raises: ConfigError."""
        low = parse_time(self.created_from, "Created from")
        high = parse_time(self.created_to, "Created to", end_of_minute=True)
        if low and high and low > high:
            raise ConfigError("Created from is after Created to; swap them or clear one")
        return low, high

    def query(self, **extra: str | None) -> str:
        """The query string of this list with ``extra`` parameters (None values left out)."""
        pairs = [(n, getattr(self, n)) for n in FILTER_NAMES if getattr(self, n)]
        pairs += [(k, v) for k, v in extra.items() if v is not None]
        return urlencode(pairs)

    @property
    def any(self) -> bool:
        return any(getattr(self, n) for n in FILTER_NAMES)


@dataclass
class RunRow:
    """One line of the runs list."""

    run: RunRecord
    duration: float | None
    pipeline: str | None
    endpoint: str | None
    schedule: str | None

    @property
    def live(self) -> bool:
        return self.run.status in LIVE_RUN


@dataclass
class Choices:
    """The options of the filter form, which also name what each row points to."""

    experiments: list[str]
    pipelines: dict[str, str]  # id -> "name version"
    endpoints: dict[str, str]
    schedules: dict[str, str]

    def options(self) -> dict[str, list[tuple[str, str]]]:
        """(value, text) pairs of each select of the filter form, sorted by text."""
        def pairs(named: dict[str, str]) -> list[tuple[str, str]]:
            return sorted(named.items(), key=lambda item: (item[1].lower(), item[0]))

        statuses = [("active", "Queued or running")] + [(s.value, s.value) for s in RunStatus]
        return {"experiment": [(e, e) for e in self.experiments], "status": statuses,
                "published_pipeline_id": pairs(self.pipelines), "pipeline_endpoint_id": pairs(self.endpoints),
                "schedule_id": pairs(self.schedules)}


@dataclass
class RunsPage:
    rows: list[RunRow]
    next_query: str | None = None
    prev_query: str | None = None
    first_query: str | None = None
    number: int = 1
    notice: str = ""

    @property
    def live(self) -> bool:
        return any(r.live for r in self.rows)


def choices(svc: Services) -> Choices:
    pipelines = {p.id: _pipeline_label(p) for p in svc.store.list_published_pipelines(active_only=False)}
    eps = {e.id: e.name for e in svc.store.list_pipeline_endpoints(active_only=False)}
    scheds = {s.id: s.name for s in svc.store.list_schedules()}
    return Choices([e.name for e in svc.store.list_experiments()], pipelines, eps, scheds)


def _pipeline_label(p: PublishedPipelineRecord) -> str:
    return f"{p.name} {p.version}" if p.version else p.name


def duration(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    if start is None:
        return None
    return max((utc(end or now) - utc(start)).total_seconds(), 0.0)


def runs_page(svc: Services, filters: RunFilters, names: Choices, cursor: str | None = None,
              back: Sequence[str] | None = None) -> RunsPage:
    """One page of runs, newest first.

    ``cursor`` is the store's cursor of this page (None: the first one); ``back`` the cursors of
    the pages before it ("" for the first), which is how "Previous" works over a forward-only cursor.

    Raises:
        ConfigError: a bad filter value or cursor.
    """
    wanted = filters.store_filters()
    low, high = filters.bounds()
    notice = ""
    page, next_cursor = run_service.list_runs(svc, limit=PAGE_SIZE, cursor=cursor, created_after=low,
                                              created_before=high, **wanted)
    records = page
    now = clock.now()
    rows = [RunRow(r, duration(r.started_at, r.ended_at, now), names.pipelines.get(r.published_pipeline_id or ""),
                   names.endpoints.get(r.pipeline_endpoint_id or ""),
                   names.schedules.get(r.schedule_id or "") or r.tags.get("headrace.schedule"))
            for r in records]
    trail = list(back) if back is not None else None
    out = RunsPage(rows, notice=notice, number=1 + len(trail or []))
    if next_cursor is not None:
        ahead = [*(trail or []), cursor or ""][-MAX_TRAIL:]
        out.next_query = filters.query(cursor=next_cursor, back=",".join(ahead))
    if trail is not None:
        previous = trail[-1]
        earlier = trail[:-1]
        out.prev_query = filters.query(cursor=previous or None, back=",".join(earlier) if earlier else None)
        out.first_query = filters.query()
    return out


def parse_back(value: str | None) -> list[str] | None:
    return None if value is None else value.split(",")
