"""Wire models of the schedule routes (``/api/v1/schedules``): Azure ML v1's schedule entity.

The create body is Azure v1's ``ScheduleCreationInfo``: ``Name``, ``PipelineId`` or
``PipelineEndpointId``, a ``Recurrence`` (``{Frequency, Interval, StartTime, EndTime, TimeZone,
Schedule: {Hours, Minutes, WeekDays, MonthDays}}``) or a ``DataStoreTriggerInfo``, and the
``PipelineSubmissionInfo`` each fire submits. headrace adds ``Cron`` (with ``TimeZone``,
``StartTime``, ``EndTime`` at the top level), ``Status``, ``Misfire``, ``MisfireCap`` and ``RunOnCreate``.
Request keys are matched case-insensitively; values are checked by the services, whose errors name
the field (400 ``InvalidSchedule``, ``Target`` = the field).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from headrace.schemas import NAME_RULES, DataPathValue, DescriptionText, Flag, _Request, _Wire

# Upper bounds only: beyond them the fire-time arithmetic overflows. Everything else (intervals of 0,
# unknown zones, bad crons...) is checked by the services, whose errors name the field.
MAX_INTERVAL = 1_000_000
MAX_POLL_MINUTES = 525_600.0  # a year
MAX_MISFIRE_CAP = 1_000_000


class RecurrencePattern(_Request):
    """When in the day/week/month a Day, Week or Month recurrence fires."""

    model_config = ConfigDict(extra="allow")  # unknown keys reach the recurrence check, which names them

    Hours: list[int] | None = None
    Minutes: list[int] | None = None
    WeekDays: list[str | int] | None = Field(default=None, description="Monday..Sunday (or 0..6).")
    MonthDays: list[int] | None = None


class RecurrenceWire(_Request):
    """Azure v1's ``Recurrence``; ``Cron`` (headrace) replaces Frequency, Interval and Schedule."""

    model_config = ConfigDict(extra="allow")

    Frequency: str | int | None = Field(default=None, description="Minute, Hour, Day, Week or Month.")
    Interval: int | None = Field(default=None, le=MAX_INTERVAL)
    StartTime: str | None = Field(default=None, description="ISO 8601; without offset: a wall time in TimeZone.")
    EndTime: str | None = None
    TimeZone: str | None = Field(default=None, description="A Windows id or an IANA name; default UTC.")
    Schedule: RecurrencePattern | None = None
    Cron: str | None = None


class DataStoreTrigger(_Request):
    """A datastore folder watched by polling (reactive schedule)."""

    DataStoreName: str | None = None
    PollingInterval: float | None = Field(default=None, le=MAX_POLL_MINUTES,
                                          description="Minutes between polls (default 5).")
    DataPathParameterName: str | None = Field(
        default=None, description="A DataPath parameter that receives each added or changed file."
    )
    PathOnDataStore: str | None = Field(default=None, description="The watched folder (default: the root).")
    Recursive: Flag | None = Field(default=None, description="Also watch sub-folders.")
    Batch: Flag | None = Field(default=None, description="One run per poll instead of one per file.")


class SubmissionInfo(_Request):
    """What each fire submits."""

    ExperimentName: str | None = Field(default=None, json_schema_extra=NAME_RULES)
    Description: DescriptionText
    ParameterAssignments: dict[str, Any] | None = Field(
        default=None, description="Values or '@' expressions evaluated at fire time (@trigger().scheduledTime)."
    )
    DataPathAssignments: dict[str, DataPathValue] | None = None
    ContinueRunOnStepFailure: Flag | None = None


class _ScheduleFields(_Request):
    Name: str | None = Field(default=None, json_schema_extra=NAME_RULES)
    Description: DescriptionText
    PipelineId: str | None = Field(default=None, description="The published pipeline to run.")
    PipelineEndpointId: str | None = Field(default=None, description="Or an endpoint: its default version at fire time.")
    Recurrence: RecurrenceWire | None = None
    Cron: str | None = Field(default=None, description="A 5-field cron expression, instead of Recurrence.")
    TimeZone: str | None = Field(default=None, description="The zone of Cron, StartTime and EndTime.")
    StartTime: str | None = None
    EndTime: str | None = None
    DataStoreTriggerInfo: DataStoreTrigger | None = None
    PipelineSubmissionInfo: SubmissionInfo | None = None
    Status: str | None = Field(default=None, description="Active (default) or Disabled.")
    Misfire: str | None = Field(default=None, description="Slots missed while down: latest (default), skip or all.")
    MisfireCap: int | None = Field(default=None, le=MAX_MISFIRE_CAP,
                                   description="With Misfire=all: at most this many catch-up runs.")


class ScheduleCreate(_ScheduleFields):
    """``POST /schedules``."""

    Name: str = Field(json_schema_extra=NAME_RULES)
    PipelineSubmissionInfo: SubmissionInfo
    RunOnCreate: Flag = Field(default=False, description="Also fire once right away.")


class ScheduleUpdate(_ScheduleFields):
    """``PUT``/``PATCH /schedules/{id}``: a missing or null field keeps its value.

    ``ParameterAssignments`` (or ``DataPathAssignments``) given replace every assignment. The experiment
    and the target cannot change: sending the current ones (a read-modify-write PUT) is fine.
    """

    EntityStatus: str | None = Field(default=None, description="Azure's name of Status (a PUT of the read entity).")


class ScheduleRead(_Wire):
    Id: str
    Name: str
    Description: str | None = None
    PipelineId: str | None = None
    PipelineEndpointId: str | None = None
    EntityStatus: str = Field(description="Active or Disabled")
    ProvisioningStatus: str = "Completed"
    ScheduleType: str = Field(description="Recurrence or DataStore")
    Recurrence: RecurrenceWire | None = Field(
        default=None, description="Its TimeZone is a Windows id when that names exactly the schedule's zone, "
                                  "else the IANA name."
    )
    DataStoreTriggerInfo: DataStoreTrigger | None = None
    PipelineSubmissionInfo: SubmissionInfo
    Misfire: str = "latest"
    MisfireCap: int = 10
    NextRunTime: datetime | None = Field(
        default=None, description="In the schedule's zone; null when disabled or past its end time."
    )
    LastFireTime: datetime | None = None
    LastRunId: str | None = None
    Trigger: str = Field(description="The trigger in words.")
    CreatedDate: datetime
    LastModifiedDate: datetime


class ScheduleList(_Wire):
    Value: list[ScheduleRead]
    ContinuationToken: str | None = None


class ScheduleTickRead(_Wire):
    """One evaluation of a schedule: fired, skipped or failed, why, and the runs it created."""

    Id: str
    ScheduleId: str
    EvaluatedAt: datetime
    Outcome: str = Field(description="fired, skipped or failed")
    Reason: str = ""
    SlotTime: datetime | None = None
    CursorBefore: str | None = None
    CursorAfter: str | None = None
    RunIds: list[str] = Field(default_factory=list)


class ScheduleTickList(_Wire):
    Value: list[ScheduleTickRead]
    ContinuationToken: str | None = None
