"""Records of the events outbox, webhook subscriptions and their deliveries, and event triggers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from headrace.storage.records import EntityStatus


class DeliveryStatus(StrEnum):
    """Where one webhook delivery stands."""

    PENDING = "pending"  # waiting for its next attempt (``next_attempt_at``)
    SENDING = "sending"  # an attempt is in flight (leased until ``lease_expires_at``)
    DELIVERED = "delivered"  # a 2xx answer
    DEAD = "dead"  # retried for the whole retry window without success, or refused for good


@dataclass(frozen=True)
class EventRecord:
    """One event in the outbox, written in the transaction of the change it tells about.

    ``seq`` orders events (given by the store); ``dispatched_at`` is set once the dispatcher made its
    deliveries and fired its triggers.
    """

    id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    seq: int | None = None
    dispatched_at: datetime | None = None


@dataclass(frozen=True)
class WebhookRecord:
    """A subscription: where the events of ``events`` that pass ``filters`` are sent.

    ``secret`` and ``apprise_url`` are stored encrypted by the services (they carry credentials).
    """

    id: str
    name: str
    status: EntityStatus
    events: list[str]
    filters: dict[str, Any]
    secret: str
    created_at: datetime
    updated_at: datetime
    url: str | None = None
    apprise_url: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class DeliveryRecord:
    """One message of one event to one subscription; ``id`` is its ``webhook-id``, the same on every retry.

    ``seq`` is its place in the subscription's queue, given by the store when the event is dispatched
    (deliveries go out in that order); None for a message outside the order (a test message).
    """

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    last_attempt_at: datetime | None = None
    response_code: int | None = None
    latency_ms: float | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    seq: int | None = None


@dataclass(frozen=True)
class TriggerRecord:
    """A published pipeline or endpoint started when an event of type ``event`` passes ``filters``.

    ``event`` is a headrace event type or ``"http"`` (events posted to the trigger's own URL).
    """

    id: str
    name: str
    event: str
    status: EntityStatus
    experiment_name: str
    created_at: datetime
    updated_at: datetime
    published_pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class TriggerTickRecord:
    """One evaluation of a trigger for one event: ``outcome`` is fired, skipped or failed (as schedule ticks)."""

    id: str
    trigger_id: str
    evaluated_at: datetime
    outcome: str
    event_id: str
    reason: str = ""
    run_ids: list[str] = field(default_factory=list)
