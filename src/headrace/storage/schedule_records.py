"""Records of schedules and of their ticks (one evaluation each).

Records are plain frozen dataclasses (see ``headrace.storage.records``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from headrace.storage.publishing_records import EntityStatus

__all__ = ["ScheduleKind", "ScheduleRecord", "ScheduleTickRecord", "TickOutcome"]


class ScheduleKind(str, Enum):
    """What fires a schedule: the calendar or a datastore change (Azure v1's ScheduleType)."""

    RECURRENCE = "Recurrence"
    DATASTORE = "DataStore"


class TickOutcome(str, Enum):
    """The result of one evaluation of a schedule."""

    FIRED = "fired"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule: what to run (a published pipeline or an endpoint's default version), when, and its state.

    ``trigger`` is ``ScheduleRecurrence.to_dict()`` for a recurrence, or ``{"datastore", "path",
    "polling_interval", "data_path_parameter_name", "recursive", "batch"}`` for a datastore watch.
    ``parameters`` are the pipeline parameters as given (``@`` expressions unevaluated; data paths
    as ``{"datastore", "path"}``). ``next_fire_at`` is the next slot (recurrence) or poll (datastore);
    None once an end time has passed. ``anchor`` is what a recurrence without start time counts from.
    ``lease_owner``/``lease_expires_at`` say which scheduler process is evaluating it.
    ``cursor_rev`` changes whenever the saved file cursor of a datastore schedule changes.
    """

    id: str
    name: str
    kind: ScheduleKind
    status: EntityStatus
    experiment_name: str
    trigger: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    anchor: datetime
    published_pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None
    misfire: str = "latest"
    misfire_cap: int = 10
    next_fire_at: datetime | None = None
    last_fire_at: datetime | None = None
    last_run_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    cursor_rev: int = 0
    failures: int = 0


@dataclass(frozen=True)
class ScheduleTickRecord:
    """One evaluation of a schedule: what it decided, why, and which runs it created.

    ``cursor_before``/``cursor_after`` describe the schedule's position (next slot, or file
    cursor revision and size) around the evaluation.
    """

    id: str
    schedule_id: str
    evaluated_at: datetime
    outcome: TickOutcome
    reason: str = ""
    slot_time: datetime | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    run_ids: list[str] = field(default_factory=list)
