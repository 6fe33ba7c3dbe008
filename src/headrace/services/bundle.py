"""The ``Services`` bundle the composition root (``headrace.wiring``) builds and front ends pass around."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from headrace.config import WebhookSettings
from headrace.datastores.base import Datastore
from headrace.engine.runner import ExecutionSettings, RunExecutor
from headrace.storage.base import MetadataStore
from headrace.storage.records import DatastoreRecord


class RunEvents:
    """In-process signal that some run ended, so waiting needs no polling delay.

    Waiters take ``generation`` before checking the store, then ``wait(since=...)``: a run that
    ends in between is never missed.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.generation = 0

    def notify(self, _run_id: str = "") -> None:
        with self._cv:
            self.generation += 1
            self._cv.notify_all()

    def wait(self, since: int, timeout: float) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: self.generation != since, timeout)


@dataclass
class Services:
    """Everything a use case needs; a plain bundle, not a god object: logic lives in the modules.

    Attributes:
        home: the workspace home folder.
        store: the metadata store.
        artifacts: where snapshots and logs live.
        make_datastore: builds a ``Datastore`` from its registration record.
        executor: runs claimed runs (used by agents).
        execution: execution limits and defaults.
        on_queued: callbacks told the id of every newly queued run (wakes in-process agents).
        agent_in_process: whether an embedded SDK process starts its own agent on submit.
        unknown_parameters: "error" or "warn": what a REST submission naming an undeclared parameter gets.
    """

    home: Path
    store: MetadataStore
    artifacts: Datastore
    make_datastore: Callable[[DatastoreRecord], Datastore]
    executor: RunExecutor
    execution: ExecutionSettings
    agent_options: dict = field(default_factory=dict)
    agent_in_process: bool = True
    unknown_parameters: str = "error"
    on_queued: list[Callable[[str], None]] = field(default_factory=list)
    # Checks run before disabling a published pipeline / endpoint; each returns the names of the
    # active schedules that block it (the schedules service registers itself here).
    disable_checks: list[Callable[[str], list[str]]] = field(default_factory=list)
    endpoint_disable_checks: list[Callable[[str], list[str]]] = field(default_factory=list)
    run_events: RunEvents = field(default_factory=RunEvents)
    # Told when a schedule is created or changed in this process (wakes an in-process scheduler).
    on_schedules_changed: list[Callable[[], None]] = field(default_factory=list)
    # How webhooks are delivered; told when events may be waiting (wakes an in-process dispatcher).
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    on_events: list[Callable[[], None]] = field(default_factory=list)
    _datastores: dict[str, Datastore] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notify_schedules_changed(self) -> None:
        for callback in list(self.on_schedules_changed):
            callback()

    def notify_queued(self, run_id: str) -> None:
        for callback in list(self.on_queued):
            callback(run_id)
        self.notify_events()

    def notify_events(self, *_args: object) -> None:
        for callback in list(self.on_events):
            callback()
