"""Immutable records the metadata store reads and writes, and the status enums.

Records are plain frozen dataclasses: the store builds them from rows and callers
never mutate them; updates go through the store's ``update_*`` methods. They are defined by concept in
``run_records``, ``publishing_records``, ``schedule_records``, ``flow_records`` and ``workspace_records``
(beside ``dataset_records``, ``draft_records``, ``event_records`` and ``model_records``); this module
re-exports the first five, so ``from headrace.storage.records import RunRecord`` keeps working.
"""

from __future__ import annotations

from headrace.storage.flow_records import FlowVersion, PublishedFlowRecord
from headrace.storage.publishing_records import (
    EndpointVersion,
    EntityStatus,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
)
from headrace.storage.run_records import (
    TERMINAL_RUN_STATUSES,
    ExperimentRecord,
    MetricRecord,
    PipelineRecord,
    RunKind,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from headrace.storage.schedule_records import ScheduleKind, ScheduleRecord, ScheduleTickRecord, TickOutcome
from headrace.storage.workspace_records import (
    ComputeTargetRecord,
    ConnectionRecord,
    DatastoreRecord,
    EnvironmentRecord,
    Role,
    TokenRecord,
)

__all__ = [
    "ComputeTargetRecord",
    "ConnectionRecord",
    "DatastoreRecord",
    "EndpointVersion",
    "EntityStatus",
    "EnvironmentRecord",
    "ExperimentRecord",
    "FlowVersion",
    "MetricRecord",
    "PipelineEndpointRecord",
    "PipelineRecord",
    "PublishedFlowRecord",
    "PublishedPipelineRecord",
    "Role",
    "RunKind",
    "RunRecord",
    "RunStatus",
    "ScheduleKind",
    "ScheduleRecord",
    "ScheduleTickRecord",
    "StepRunRecord",
    "StepStatus",
    "TERMINAL_RUN_STATUSES",
    "TickOutcome",
    "TokenRecord",
]
