"""SQLAlchemy Core tables of the SQL metadata store, gathered from their modules by concept.

Column names equal the record field names in ``headrace.storage.records`` so rows map onto records
without a translation table. The schema on disk is owned by the Alembic migrations in
``migrations/versions``; these definitions must describe the same schema (a test compares them).

Every table is defined on the one ``metadata`` of ``columns.py`` in a module named after its concept
(``run_tables``, ``pipeline_tables``, ``schedule_tables``, ``workspace_tables``, ``flow_tables``,
``dataset_tables``, ``model_tables``, ``module_tables``, ``event_tables``). Importing this module imports them all, so every
user of ``metadata`` sees the whole schema; store modules use it as ``from headrace.storage.sql import
tables as t``.
"""

from __future__ import annotations

from headrace.storage.sql.columns import UTCDateTime, metadata
from headrace.storage.sql.dataset_tables import dataset_uses, datasets
from headrace.storage.sql.event_tables import (
    events,
    trigger_fires,
    trigger_ticks,
    triggers,
    webhook_deliveries,
    webhooks,
)
from headrace.storage.sql.flow_tables import flow_versions, flows
from headrace.storage.sql.model_tables import logged_models, model_aliases, model_stage_changes, models
from headrace.storage.sql.module_tables import module_versions, modules
from headrace.storage.sql.pipeline_tables import (
    endpoint_versions,
    pipeline_drafts,
    pipeline_endpoints,
    pipelines,
    published_pipelines,
)
from headrace.storage.sql.run_tables import experiments, metrics, pipeline_runs, run_keys, step_runs
from headrace.storage.sql.schedule_tables import schedule_files, schedule_fires, schedule_ticks, schedules
from headrace.storage.sql.workspace_tables import (
    compute_targets,
    connections,
    datastores,
    environments,
    tokens,
    workspace_settings,
)

__all__ = [
    "UTCDateTime",
    "compute_targets",
    "connections",
    "dataset_uses",
    "datasets",
    "datastores",
    "endpoint_versions",
    "events",
    "environments",
    "experiments",
    "flow_versions",
    "flows",
    "logged_models",
    "metadata",
    "metrics",
    "model_aliases",
    "model_stage_changes",
    "models",
    "module_versions",
    "modules",
    "pipeline_drafts",
    "pipeline_endpoints",
    "pipeline_runs",
    "pipelines",
    "published_pipelines",
    "run_keys",
    "schedule_files",
    "schedule_fires",
    "schedule_ticks",
    "schedules",
    "step_runs",
    "tokens",
    "trigger_fires",
    "trigger_ticks",
    "triggers",
    "webhook_deliveries",
    "webhooks",
    "workspace_settings",
]
