"""The schedule part of the ``MetadataStore`` interface: schedules, their leases, fires, file cursors and ticks.

Same conventions as ``headrace.storage.base``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from headrace.storage.records import RunRecord, ScheduleRecord, ScheduleTickRecord, StepRunRecord


class ScheduleStore(ABC):
    """Schedules, leased to one scheduler at a time, and the exactly-once record of their fires."""

    # -- schedules -----------------------------------------------------------------------
    @abstractmethod
    def create_schedule(self, record: ScheduleRecord, files: Mapping[str, str] | None = None) -> ScheduleRecord:
        """Store a schedule, with the initial file cursor of a datastore schedule (path -> version).

        Raises:
            NotFoundError: its published pipeline or endpoint does not exist.
        """

    @abstractmethod
    def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_schedules(
        self,
        *,
        active_only: bool = False,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[ScheduleRecord]:
        """Newest first, filtered."""

    @abstractmethod
    def update_schedule(self, schedule_id: str, *, owner: str | None = None, **changes: Any) -> ScheduleRecord:
        """Apply changes (field names of the record); with ``owner``, only while it holds the lease.

        Raises:
            NotFoundError: no such schedule.
            ConflictError: ``owner`` given and it no longer holds the lease.
        """

    @abstractmethod
    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule with its fires, file cursor and ticks (its runs stay). Raises: NotFoundError."""

    @abstractmethod
    def claim_due_schedules(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int = 100
    ) -> list[ScheduleRecord]:
        """Lease up to ``limit`` Active schedules whose ``next_fire_at`` is at or before ``now`` and
        whose lease is free or expired, earliest first. No two callers get the same schedule."""

    @abstractmethod
    def next_schedule_due(self) -> datetime | None:
        """The earliest instant some Active schedule can be claimed: its ``next_fire_at``, or its lease
        expiry when later (None: nothing scheduled)."""

    @abstractmethod
    def create_scheduled_run(
        self, run: RunRecord, steps: Sequence[StepRunRecord], *, fire_key: str
    ) -> tuple[RunRecord, bool]:
        """Create the run of one fire of ``run.schedule_id``, unless that fire already made one.

        Returns (run, True) when created, else (the run made first under ``fire_key``, False).
        """

    @abstractmethod
    def save_schedule_state(
        self,
        schedule_id: str,
        *,
        owner: str | None,
        changes: Mapping[str, Any],
        ticks: Sequence[ScheduleTickRecord] = (),
        files: tuple[Mapping[str, str], Iterable[str]] | None = None,
    ) -> ScheduleRecord:
        """In one transaction, while ``owner`` holds the lease (any time when ``owner`` is None): apply
        ``changes``, record ``ticks``, and apply ``files`` = (path -> version to upsert, paths to forget)
        to the cursor (bumping ``cursor_rev``).

        Raises:
            ConflictError: ``owner`` no longer holds the lease (nothing is written).
        """

    @abstractmethod
    def get_schedule_files(self, schedule_id: str) -> dict[str, str]:
        """The file cursor of a datastore schedule: path -> version."""

    @abstractmethod
    def add_schedule_ticks(self, ticks: Sequence[ScheduleTickRecord]) -> None:
        """Record evaluations made outside a state save (e.g. a failed one)."""

    @abstractmethod
    def list_schedule_ticks(self, schedule_id: str, *, limit: int = 100) -> list[ScheduleTickRecord]:
        """Newest first."""

    @abstractmethod
    def prune_schedule_history(self, before: datetime) -> int:
        """Forget ticks and fire keys older than ``before``; returns how many rows went."""
