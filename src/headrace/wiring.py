"""Composition root: the only place that picks concrete implementations (SQL store, fsspec datastores)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

# Imports sit in the functions: a command that only reads the store must not pay for the engine,
# the scheduler or fsspec at start-up.
if TYPE_CHECKING:
    from headrace.config import Settings
    from headrace.datastores.base import Datastore
    from headrace.engine.agent import Agent
    from headrace.services.bundle import Services
    from headrace.services.scheduler import Scheduler
    from headrace.storage.base import MetadataStore
    from headrace.storage.records import DatastoreRecord


def make_datastore(record: DatastoreRecord) -> Datastore:
    """Build the datastore a registration record describes."""
    from headrace.datastores.fsspec_store import FsspecDatastore

    return FsspecDatastore(record.name, record.root_uri, storage_options=record.options or None)


def open_store(settings: Settings) -> MetadataStore:
    """Open (and migrate) only the metadata store: for callers that read it and need nothing else."""
    from headrace.storage.sql.store import SqlMetadataStore

    return SqlMetadataStore(settings.effective_db_url)


def build_services(settings: Settings) -> Services:
    """Open (and migrate) the metadata store, the artifact area and the default datastore."""
    from headrace.datastores.fsspec_store import FsspecDatastore
    from headrace.engine.local import LocalComputeTarget
    from headrace.engine.runner import ExecutionSettings, RunExecutor
    from headrace.services import datastores as ds_service
    from headrace.services import schedules as schedule_service
    from headrace.services.bundle import Services
    from headrace.storage.cached import CachedMetadataStore
    from headrace.storage.sql.store import SqlMetadataStore

    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    store = CachedMetadataStore(SqlMetadataStore(settings.effective_db_url), ttl=settings.cache_seconds)
    artifacts = FsspecDatastore("_artifacts", settings.effective_artifacts_uri)
    execution = ExecutionSettings(
        max_parallel_steps=settings.agent.max_parallel_steps,
        step_timeout_seconds=settings.agent.step_timeout_seconds,
        small_file_bytes=settings.agent.small_file_bytes,
    )
    holder: dict[str, Services] = {}

    def resolve(name: str) -> Datastore:
        return ds_service.get_datastore(holder["svc"], name)

    step_env = {"HEADRACE_HOME": str(Path(home).resolve())}
    if settings.db_url:
        step_env["HEADRACE_DB_URL"] = settings.db_url
    target = LocalComputeTarget(artifacts, resolve, work_root=home / "work",
                                step_launch=settings.agent.step_launch, base_env=step_env)
    executor = RunExecutor(store, {"local": target}, artifacts, resolve, execution)
    svc = Services(
        home=home, store=store, artifacts=artifacts, make_datastore=make_datastore, executor=executor,
        execution=execution,
        agent_in_process=settings.agent.in_process,
        agent_options={
            "lease_seconds": settings.agent.lease_seconds,
            "poll_seconds": settings.agent.poll_seconds,
            "orphan_policy": settings.agent.orphan_policy,
        },
    )
    holder["svc"] = svc
    ds_service.ensure_default(svc)
    schedule_service.register_checks(svc)
    return svc


def build_agent(svc: Services, **overrides: object) -> Agent:
    """An agent over ``svc`` that wakes when a run is queued through it."""
    from headrace.engine.agent import Agent

    options = {**svc.agent_options, **overrides}
    agent = Agent(svc.store, svc.executor, **options)  # type: ignore[arg-type]
    svc.on_queued.append(lambda _run_id: agent.wake())
    agent.on_run_ended.append(svc.run_events.notify)
    return agent


def build_scheduler(svc: Services, **options: object) -> Scheduler:
    """A scheduler over ``svc`` (options: see ``Scheduler``); call ``start()`` to run it."""
    from headrace.services.scheduler import Scheduler

    return Scheduler(svc, **options)  # type: ignore[arg-type]
