"""The events part of the ``MetadataStore`` interface: the outbox, webhooks, deliveries and triggers.

Same conventions as ``headrace.storage.base``. Run, step and schedule events are written by the store
itself, in the transaction of the change they tell about (``run.queued`` with the run's insert, and so
on): an event is never lost when the process dies right after the change, and never told of a change
that was rolled back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from headrace.storage.event_records import (
    DeliveryRecord,
    DeliveryStatus,
    EventRecord,
    TriggerRecord,
    TriggerTickRecord,
    WebhookRecord,
)
from headrace.storage.records import RunRecord, StepRunRecord


class EventStore(ABC):
    """The outbox of events and what consumes it."""

    # -- the outbox ----------------------------------------------------------------------
    @abstractmethod
    def add_events(self, events: Sequence[EventRecord]) -> None:
        """Append events made outside a store change (a test event, an inbound event)."""

    @abstractmethod
    def list_pending_events(self, limit: int = 100) -> list[EventRecord]:
        """Events not dispatched yet, oldest first."""

    @abstractmethod
    def list_events(self, *, type: str | None = None, limit: int = 100) -> list[EventRecord]:
        """Events newest first, optionally of one type."""

    @abstractmethod
    def mark_events_dispatched(self, event_ids: Sequence[str], deliveries: Sequence[DeliveryRecord],
                               at: datetime) -> None:
        """In one transaction: insert ``deliveries`` and mark the events dispatched.

        The deliveries join the end of their subscriptions' queues in the order given (``seq``): give them
        in event order.

        Raises:
            ConflictError: one of the events was dispatched meanwhile (by another process); nothing is written.
        """

    @abstractmethod
    def prune_events(self, before: datetime) -> int:
        """Forget dispatched events, finished deliveries and trigger ticks older than ``before``; returns how many."""

    # -- webhooks ------------------------------------------------------------------------
    @abstractmethod
    def create_webhook(self, record: WebhookRecord) -> WebhookRecord:
        """Raises: AlreadyExistsError when the name is taken."""

    @abstractmethod
    def get_webhook(self, webhook_id: str) -> WebhookRecord:
        """A subscription by id, else by name. Raises: NotFoundError."""

    @abstractmethod
    def list_webhooks(self, *, active_only: bool = False) -> list[WebhookRecord]:
        """By name."""

    @abstractmethod
    def update_webhook(self, webhook_id: str, /, **changes: Any) -> WebhookRecord:
        """Raises: NotFoundError; ValueError for a field that cannot change."""

    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> None:
        """Delete a subscription with its deliveries. Raises: NotFoundError."""

    # -- deliveries ----------------------------------------------------------------------
    @abstractmethod
    def add_deliveries(self, deliveries: Sequence[DeliveryRecord]) -> None:
        """Add messages outside the event order (test messages): claimed whenever due, whatever is queued.

        Raises:
            NotFoundError: a delivery names a missing webhook.
        """

    @abstractmethod
    def claim_deliveries(self, owner: str, *, now: datetime, lease_until: datetime,
                         limit: int = 100) -> list[DeliveryRecord]:
        """Move up to ``limit`` deliveries due at ``now`` (pending and due, or sending with an expired
        lease) to sending for ``owner``, counting the attempt. No two callers get the same.

        Queued deliveries are taken as runs, oldest head first: per subscription, the head of its queue
        (its first pending or sending delivery) when due, then the ones after it while they are due; a
        subscription with a delivery in flight (sending, lease not expired) is passed over. A run comes
        back in queue order. Test messages (``seq`` None) are taken when due, oldest first.
        """

    @abstractmethod
    def update_delivery(self, delivery_id: str, /, **changes: Any) -> DeliveryRecord:
        """Raises: NotFoundError."""

    def update_deliveries(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Apply ``update_delivery`` for each (id, changes) pair; a store should do it in one transaction."""
        for delivery_id, values in changes:
            self.update_delivery(delivery_id, **values)

    @abstractmethod
    def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[DeliveryRecord]:
        """Newest first."""

    @abstractmethod
    def requeue_deliveries(self, now: datetime) -> int:
        """Make every in-flight (sending) delivery due at ``now``: a restarted process sends at once
        what it was sending when it died. Returns how many."""

    @abstractmethod
    def next_delivery_due(self) -> datetime | None:
        """The earliest ``next_attempt_at`` of a pending delivery a claim could take: a queue's head (of a
        subscription with nothing in flight) or a test message (None: nothing to send)."""

    @abstractmethod
    def count_deliveries(self, status: str | None = None) -> int:
        """How many deliveries there are (of one status)."""

    def has_open_deliveries(self) -> bool:
        """Whether any delivery is pending or being sent: the dispatcher claims (a write) only then."""
        return bool(self.count_deliveries(DeliveryStatus.PENDING.value)
                    or self.count_deliveries(DeliveryStatus.SENDING.value))

    # -- triggers ------------------------------------------------------------------------
    @abstractmethod
    def create_trigger(self, record: TriggerRecord) -> TriggerRecord:
        """Raises: AlreadyExistsError (name taken); NotFoundError (its pipeline or endpoint is missing)."""

    @abstractmethod
    def get_trigger(self, trigger_id: str) -> TriggerRecord:
        """A trigger by id, else by name. Raises: NotFoundError."""

    @abstractmethod
    def list_triggers(self, *, active_only: bool = False, event: str | None = None) -> list[TriggerRecord]:
        """By name, optionally only active ones listening to ``event``."""

    @abstractmethod
    def update_trigger(self, trigger_id: str, /, **changes: Any) -> TriggerRecord:
        """Raises: NotFoundError; ValueError for a field that cannot change."""

    @abstractmethod
    def delete_trigger(self, trigger_id: str) -> None:
        """Delete a trigger with its fires and ticks (its runs stay). Raises: NotFoundError."""

    @abstractmethod
    def create_triggered_run(self, run: RunRecord, steps: Sequence[StepRunRecord], *, trigger_id: str,
                             fire_key: str, tick: TriggerTickRecord | None = None) -> tuple[RunRecord, bool]:
        """Create the run of one event of a trigger unless that event already made one; ``tick`` (the
        evaluation that fired it) is recorded in the same transaction when the run is created.

        Returns (run, True) when created, else (the run made first under ``fire_key``, False).
        """

    @abstractmethod
    def add_trigger_ticks(self, ticks: Sequence[TriggerTickRecord]) -> None:
        """Record evaluations."""

    @abstractmethod
    def list_trigger_ticks(self, trigger_id: str, *, limit: int = 100) -> list[TriggerTickRecord]:
        """Newest first."""
