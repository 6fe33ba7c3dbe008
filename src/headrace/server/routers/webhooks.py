"""Webhook subscriptions (admin): create, list, get, enable/disable, delete, the delivery log,
redeliver and send a test event; and the list of event types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from headrace.core.events import EVENT_TYPES
from headrace.schemas.events import (
    DeliveryList,
    DeliveryRead,
    EventTypeList,
    WebhookCreate,
    WebhookList,
    WebhookRead,
)
from headrace.server.deps import ManageWebhooks, Reader, ServicesDep, body_doc, json_body
from headrace.services import webhooks
from headrace.storage.event_records import DeliveryRecord, WebhookRecord
from headrace.storage.records import EntityStatus

router = APIRouter(tags=["webhooks"])
CreateBody = Annotated[WebhookCreate, Depends(json_body(WebhookCreate))]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")]


def webhook_read(record: WebhookRecord) -> WebhookRead:
    return WebhookRead(id=record.id, name=record.name, status=record.status.value, events=list(record.events),
                       filters=dict(record.filters), url=record.url, apprise_url=record.apprise_url,
                       description=record.description, created_at=record.created_at, updated_at=record.updated_at,
                       secret=record.secret or None)


def delivery_read(record: DeliveryRecord) -> DeliveryRead:
    return DeliveryRead(id=record.id, webhook_id=record.webhook_id, event_id=record.event_id,
                        event_type=record.event_type, status=record.status.value, attempts=record.attempts,
                        created_at=record.created_at, next_attempt_at=record.next_attempt_at,
                        last_attempt_at=record.last_attempt_at, response_code=record.response_code,
                        latency_ms=record.latency_ms, last_error=record.last_error, payload=record.payload)


@router.get("/event-types", response_model=EventTypeList)
def event_types(_: Reader) -> EventTypeList:
    """Every event headrace emits, with what it means."""
    return EventTypeList(value=dict(EVENT_TYPES))


@router.get("/webhooks", response_model=WebhookList)
def list_webhooks(_: ManageWebhooks, svc: ServicesDep) -> WebhookList:
    return WebhookList(value=[webhook_read(r) for r in webhooks.list_webhooks(svc)])


@router.post("/webhooks", response_model=WebhookRead, openapi_extra=body_doc(WebhookCreate))
def create_webhook(_: ManageWebhooks, svc: ServicesDep, body: CreateBody) -> WebhookRead:
    """Subscribe a URL (or an Apprise target) to events. The answer holds the secret: the only time it is shown.

    400 ``InvalidEvent`` (``Target`` names the field) for an unknown event, a URL that is not http(s) or
    resolves to a refused network, or a malformed secret; 409 when the name is taken.
    """
    record = webhooks.create_webhook(svc, body.name, events=body.events, url=body.url, apprise_url=body.apprise_url,
                                     filters=body.filters, secret=body.secret, description=body.description,
                                     status=_status(body.status))
    return webhook_read(record)


def _status(value: str) -> EntityStatus:
    from headrace.errors import EventError

    try:
        return EntityStatus(value)
    except ValueError:
        raise EventError(f"must be Active or Disabled, got {value!r}", field="status") from None


@router.get("/webhooks/{key}", response_model=WebhookRead)
def get_webhook(key: str, _: ManageWebhooks, svc: ServicesDep) -> WebhookRead:
    """A subscription by id or name (never its secret)."""
    return webhook_read(webhooks.get_webhook(svc, key))


@router.post("/webhooks/{key}/enable", response_model=WebhookRead)
def enable_webhook(key: str, _: ManageWebhooks, svc: ServicesDep) -> WebhookRead:
    return webhook_read(webhooks.set_status(svc, key, EntityStatus.ACTIVE))


@router.post("/webhooks/{key}/disable", response_model=WebhookRead)
def disable_webhook(key: str, _: ManageWebhooks, svc: ServicesDep) -> WebhookRead:
    """Stop sending to it; its pending deliveries end dead ("the webhook is disabled")."""
    return webhook_read(webhooks.set_status(svc, key, EntityStatus.DISABLED))


@router.delete("/webhooks/{key}", status_code=204, response_class=Response)
def delete_webhook(key: str, _: ManageWebhooks, svc: ServicesDep) -> Response:
    webhooks.delete_webhook(svc, key)
    return Response(status_code=204)


@router.get("/webhooks/{key}/deliveries", response_model=DeliveryList)
def list_deliveries(key: str, _: ManageWebhooks, svc: ServicesDep, limit: Limit = 100) -> DeliveryList:
    """The delivery log: status, attempts, response code, latency and last error of each message."""
    return DeliveryList(value=[delivery_read(d) for d in webhooks.list_deliveries(svc, key, limit=limit)])


@router.post("/webhooks/{key}/deliveries/{delivery_id}/redeliver", response_model=DeliveryRead)
def redeliver(key: str, delivery_id: str, _: ManageWebhooks, svc: ServicesDep) -> DeliveryRead:
    """Send a message again now (same webhook-id), with a new retry window."""
    return delivery_read(webhooks.redeliver(svc, key, delivery_id))


@router.post("/webhooks/{key}/test", response_model=DeliveryRead)
def send_test(key: str, _: ManageWebhooks, svc: ServicesDep) -> DeliveryRead:
    """Queue a ``webhook.test`` message to the subscription; follow it in the delivery log."""
    return delivery_read(webhooks.send_test(svc, key))
