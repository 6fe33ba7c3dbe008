"""Composition root: the only place that picks concrete implementations (SQL store, fsspec datastores)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

# Imports sit in the functions: a command that only reads the store must not pay for the engine,
# the scheduler or fsspec at start-up.
if TYPE_CHECKING:
    from headrace.config import Settings
    from headrace.datastores.base import Datastore
    from headrace.engine.agent import Agent
    from headrace.engine.compute import ComputeTarget
    from headrace.services.bundle import Services
    from headrace.services.events import EventDispatcher
    from headrace.services.scheduler import Scheduler
    from headrace.storage.base import MetadataStore
    from headrace.storage.records import DatastoreRecord


def datastore_maker(home: Path) -> Callable[[DatastoreRecord], Datastore]:
    """Builds the datastore a registration record describes (cloud credentials decrypted with the home's key)."""
    from headrace.services import cloud_datastores

    decrypt = cloud_datastores.make_decrypt(home)

    def make_datastore(record: DatastoreRecord) -> Datastore:
        from headrace.datastores.fsspec_store import FsspecDatastore

        if record.kind == "web":
            from headrace.datastores.web import WebFiles

            return WebFiles()

        options = cloud_datastores.storage_options(record, decrypt)
        return FsspecDatastore(record.name, record.root_uri, storage_options=options or None)

    return make_datastore


def open_store(settings: Settings) -> MetadataStore:
    """Open (and migrate) only the metadata store: for callers that read it and need nothing else."""
    from headrace.storage.sql.store import SqlMetadataStore

    return SqlMetadataStore(settings.effective_db_url)


def quick_run_list(home: Path, experiment_name: str | None, limit: int) -> list | None:
    """Runs of a SQLite home read without SQLAlchemy (``headrace run list``), or None when that reader
    does not apply (no database yet, another schema revision): then open the store as usual."""
    from headrace.storage.sql import sqlite_runs

    return sqlite_runs.list_runs(home / "headrace.db", experiment_name=experiment_name, limit=limit)


def build_services(settings: Settings) -> Services:
    """Open (and migrate) the metadata store, the artifact area and the default datastore."""
    from headrace.datastores.fsspec_store import FsspecDatastore
    from headrace.engine.environments import CACHE_FOLDER
    from headrace.engine.local import LocalComputeTarget
    from headrace.engine.runner import ExecutionSettings, RunExecutor
    from headrace.engine.targets import TargetRegistry
    from headrace.errors import ComputeError
    from headrace.services import compute as compute_service
    from headrace.services import connections as conn_service
    from headrace.services import datasets, models
    from headrace.services import datastores as ds_service
    from headrace.services import schedules as schedule_service
    from headrace.services.bundle import Services
    from headrace.storage.cached import CachedMetadataStore
    from headrace.storage.sql.store import SqlMetadataStore

    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    store = CachedMetadataStore(SqlMetadataStore(settings.effective_db_url), ttl=settings.cache_seconds)
    artifacts = FsspecDatastore("_artifacts", settings.effective_artifacts_uri,
                                storage_options=settings.artifacts_options or None)
    execution = ExecutionSettings(
        max_parallel_steps=settings.agent.max_parallel_steps,
        step_timeout_seconds=settings.agent.step_timeout_seconds,
        small_file_bytes=settings.agent.small_file_bytes,
    )
    holder: dict[str, Services] = {}

    def resolve(name: str) -> Datastore:
        return ds_service.get_datastore(holder["svc"], name)

    # Steps get neither the home's path nor the database URL nor the secret key: only the connections
    # a flow step names (``services.connections.step_connection_env``).
    target = LocalComputeTarget(artifacts, resolve, work_root=settings.agent.work_root or home / "work",
                                step_launch=settings.agent.step_launch,
                                step_env=lambda env: conn_service.step_connection_env(holder["svc"], env),
                                step_user=settings.agent.step_user, step_python=settings.agent.step_python,
                                env_root=home / CACHE_FOLDER)

    dask_targets: dict[tuple[str, str], ComputeTarget] = {}

    def resolve_target(name: str) -> tuple[ComputeTarget, int | None]:
        record = compute_service.get_compute_target(holder["svc"], name)
        if record.type == compute_service.DASK:
            return _dask_target(record, dask_targets, artifacts, resolve, holder), compute_service.max_parallel(record)
        runners = {"local": target, "AmlCompute": target}
        if record.type not in runners:
            raise ComputeError(f"compute target {name!r} has type {record.type!r}, which this version cannot run")
        return runners[record.type], compute_service.max_parallel(record)

    executor = RunExecutor(store, TargetRegistry(resolve_target, [target]), artifacts, resolve, execution)
    # Outputs marked register_on_complete become dataset versions before the run is recorded Finished.
    executor.before_finished.append(lambda run_id: datasets.register_run_outputs(holder["svc"], run_id))
    # run.register_model() in a step's script: registered when the step ends (a failed registration fails it).
    executor.register_models.append(
        lambda run, step, step_run_id, outputs, requests: models.register_step_requests(
            holder["svc"], run, step, step_run_id, outputs, requests))
    svc = Services(
        home=home, store=store, artifacts=artifacts, make_datastore=datastore_maker(home), executor=executor,
        execution=execution,
        agent_in_process=settings.agent.in_process,
        unknown_parameters=settings.server.unknown_parameters,
        webhooks=settings.webhooks,
        agent_options={
            "lease_seconds": settings.agent.lease_seconds,
            "poll_seconds": settings.agent.poll_seconds,
            "orphan_policy": settings.agent.orphan_policy,
        },
    )
    holder["svc"] = svc
    _protect_credentials(home, own_db=settings.db_url is None)
    ds_service.ensure_default(svc)
    schedule_service.register_checks(svc)
    return svc


def _dask_target(record, built: dict, artifacts: Datastore, resolve: Callable[[str], Datastore],
                 holder: dict) -> ComputeTarget:
    """The Dask target of ``record``: one per name and configuration (its scheduler connection is kept)."""
    import json

    from headrace.engine.dask_target import DaskComputeTarget
    from headrace.services import connections as conn_service

    key = (record.name, json.dumps(record.config, sort_keys=True))
    if key not in built:
        cfg = record.config
        built[key] = DaskComputeTarget(
            record.name, cfg["address"], artifacts, resolve, resources=cfg.get("resources"),
            connect_timeout=cfg.get("connect_timeout", 10.0), retries=cfg.get("retries", 1),
            mounted_paths=cfg.get("mounted_paths") or (), no_worker_timeout=cfg.get("no_worker_timeout", 300.0),
            step_env=lambda env: conn_service.step_connection_env(holder["svc"], env))
    return built[key]


def _protect_credentials(home: Path, own_db: bool) -> None:
    """Files holding the workspace's credentials are the owner's only (0600), however they were made."""
    from headrace.services import connections as conn_service

    names = [conn_service.SECRET_KEY_FILE, "config.json"]
    if own_db:  # the home's SQLite database (token hashes, encrypted keys, every run's metadata)
        names += ["headrace.db", "headrace.db-wal", "headrace.db-shm"]
    for name in names:
        path = home / name
        try:
            if path.is_file() and path.stat().st_uid == os.geteuid() and path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:  # another user's file, or gone meanwhile: leave it
            pass


def build_agent(svc: Services, **overrides: object) -> Agent:
    """An agent over ``svc`` that wakes when a run is queued through it."""
    from headrace.engine.agent import Agent

    options = {**svc.agent_options, **overrides}
    agent = Agent(svc.store, svc.executor, **options)  # type: ignore[arg-type]
    svc.on_queued.append(lambda _run_id: agent.wake())
    agent.on_run_ended.append(svc.run_events.notify)
    agent.on_run_ended.append(svc.notify_events)  # a run's end event goes out without waiting for a poll
    return agent


def build_dispatcher(svc: Services, **options: object) -> EventDispatcher:
    """The events dispatcher over ``svc`` (options: see ``EventDispatcher``); call ``start()`` to run it."""
    from headrace.services.events import EventDispatcher

    return EventDispatcher(svc, **options)  # type: ignore[arg-type]


def build_scheduler(svc: Services, **options: object) -> Scheduler:
    """A scheduler over ``svc`` (options: see ``Scheduler``); call ``start()`` to run it."""
    from headrace.services.scheduler import Scheduler

    return Scheduler(svc, **options)  # type: ignore[arg-type]
