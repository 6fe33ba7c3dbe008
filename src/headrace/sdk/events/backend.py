"""The webhook and trigger calls of a workspace: the services in an embedded workspace, the REST API
in a remote one. Both return the same records, so ``Webhook`` and ``Trigger`` never know which."""

from __future__ import annotations

from typing import Any

from headrace.storage.event_records import (
    DeliveryRecord,
    DeliveryStatus,
    TriggerRecord,
    TriggerTickRecord,
    WebhookRecord,
)
from headrace.storage.records import EntityStatus, RunRecord


def events_backend(workspace: Any) -> Any:
    """``LocalEvents`` or ``RemoteEvents`` for ``workspace``."""
    backend = workspace._backend
    if hasattr(backend, "svc"):
        return LocalEvents(backend.svc)
    return RemoteEvents(backend.client)


class LocalEvents:
    def __init__(self, svc: Any):
        from headrace.services import triggers, webhooks

        self.svc, self.webhooks, self.triggers = svc, webhooks, triggers

    def create_webhook(self, **fields: Any) -> WebhookRecord:
        name = fields.pop("name")
        return self.webhooks.create_webhook(self.svc, name, **fields)

    def get_webhook(self, key: str) -> WebhookRecord:
        return self.webhooks.get_webhook(self.svc, key)

    def list_webhooks(self) -> list[WebhookRecord]:
        return self.webhooks.list_webhooks(self.svc)

    def set_webhook_status(self, key: str, status: EntityStatus) -> WebhookRecord:
        return self.webhooks.set_status(self.svc, key, status)

    def delete_webhook(self, key: str) -> None:
        self.webhooks.delete_webhook(self.svc, key)

    def deliveries(self, key: str, limit: int) -> list[DeliveryRecord]:
        return self.webhooks.list_deliveries(self.svc, key, limit=limit)

    def redeliver(self, key: str, delivery_id: str) -> DeliveryRecord:
        return self.webhooks.redeliver(self.svc, key, delivery_id)

    def send_test(self, key: str) -> DeliveryRecord:
        return self.webhooks.send_test(self.svc, key)

    def create_trigger(self, **fields: Any) -> TriggerRecord:
        name = fields.pop("name")
        return self.triggers.create_trigger(self.svc, name, **fields)

    def get_trigger(self, key: str) -> TriggerRecord:
        return self.triggers.get_trigger(self.svc, key)

    def list_triggers(self, active_only: bool) -> list[TriggerRecord]:
        return self.triggers.list_triggers(self.svc, active_only=active_only)

    def set_trigger_status(self, key: str, status: EntityStatus) -> TriggerRecord:
        return self.triggers.set_status(self.svc, key, status)

    def delete_trigger(self, key: str) -> None:
        self.triggers.delete_trigger(self.svc, key)

    def ticks(self, key: str, limit: int) -> list[TriggerTickRecord]:
        return self.triggers.list_ticks(self.svc, key, limit=limit)

    def runs(self, key: str, limit: int) -> list[RunRecord]:
        return self.triggers.list_runs(self.svc, key, limit=limit)

    def post_event(self, key: str, body: Any, idempotency_key: str | None) -> Any:
        return self.triggers.fire_inbound(self.svc, key, body, event_id=idempotency_key)


def _webhook(w: Any) -> WebhookRecord:
    return WebhookRecord(id=w.id, name=w.name, status=EntityStatus(w.status), events=list(w.events),
                         filters=dict(w.filters), secret=w.secret or "", created_at=w.created_at,
                         updated_at=w.updated_at, url=w.url, apprise_url=w.apprise_url, description=w.description)


def _delivery(d: Any) -> DeliveryRecord:
    return DeliveryRecord(id=d.id, webhook_id=d.webhook_id, event_id=d.event_id, event_type=d.event_type,
                          payload=d.payload, status=DeliveryStatus(d.status), created_at=d.created_at,
                          next_attempt_at=d.next_attempt_at, attempts=d.attempts, last_attempt_at=d.last_attempt_at,
                          response_code=d.response_code, latency_ms=d.latency_ms, last_error=d.last_error)


def _trigger(t: Any) -> TriggerRecord:
    return TriggerRecord(id=t.id, name=t.name, event=t.event, status=EntityStatus(t.status),
                         experiment_name=t.experiment_name, created_at=t.created_at, updated_at=t.updated_at,
                         published_pipeline_id=t.pipeline_id, pipeline_endpoint_id=t.pipeline_endpoint_id,
                         filters=dict(t.filters), parameters=dict(t.pipeline_parameters), description=t.description)


class RemoteEvents:
    def __init__(self, client: Any):
        self.client = client

    def create_webhook(self, **fields: Any) -> WebhookRecord:
        status = fields.pop("status", EntityStatus.ACTIVE)
        return _webhook(self.client.create_webhook({**fields, "status": EntityStatus(status).value}))

    def get_webhook(self, key: str) -> WebhookRecord:
        return _webhook(self.client.get_webhook(key))

    def list_webhooks(self) -> list[WebhookRecord]:
        return [_webhook(w) for w in self.client.list_webhooks()]

    def set_webhook_status(self, key: str, status: EntityStatus) -> WebhookRecord:
        return _webhook(self.client.set_webhook_enabled(key, status is EntityStatus.ACTIVE))

    def delete_webhook(self, key: str) -> None:
        self.client.delete_webhook(key)

    def deliveries(self, key: str, limit: int) -> list[DeliveryRecord]:
        return [_delivery(d) for d in self.client.webhook_deliveries(key, limit)]

    def redeliver(self, key: str, delivery_id: str) -> DeliveryRecord:
        return _delivery(self.client.redeliver(key, delivery_id))

    def send_test(self, key: str) -> DeliveryRecord:
        return _delivery(self.client.send_test_event(key))

    def create_trigger(self, **fields: Any) -> TriggerRecord:
        status = fields.pop("status", EntityStatus.ACTIVE)
        return _trigger(self.client.create_trigger({**fields, "status": EntityStatus(status).value}))

    def get_trigger(self, key: str) -> TriggerRecord:
        return _trigger(self.client.get_trigger(key))

    def list_triggers(self, active_only: bool) -> list[TriggerRecord]:
        return [_trigger(t) for t in self.client.list_triggers(active_only)]

    def set_trigger_status(self, key: str, status: EntityStatus) -> TriggerRecord:
        return _trigger(self.client.set_trigger_enabled(key, status is EntityStatus.ACTIVE))

    def delete_trigger(self, key: str) -> None:
        self.client.delete_trigger(key)

    def ticks(self, key: str, limit: int) -> list[TriggerTickRecord]:
        return [TriggerTickRecord(id=t.id, trigger_id=t.trigger_id, evaluated_at=t.evaluated_at, outcome=t.outcome,
                                  event_id=t.event_id, reason=t.reason, run_ids=list(t.run_ids))
                for t in self.client.trigger_ticks(key, limit)]

    def runs(self, key: str, limit: int) -> list[RunRecord]:
        from headrace.sdk import wire

        return [wire.run_record(r) for r in self.client.trigger_runs(key, limit)]

    def post_event(self, key: str, body: Any, idempotency_key: str | None) -> Any:
        return self.client.post_trigger_event(key, body, idempotency_key)
