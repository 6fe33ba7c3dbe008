"""The webhook and trigger calls of ``HeadraceClient`` (``/api/v1/webhooks``, ``/api/v1/triggers``)."""

from __future__ import annotations

from typing import Any

from headrace.client.session import ApiSession, seg
from headrace.schemas import RunList, RunRead
from headrace.schemas.events import (
    DeliveryList,
    DeliveryRead,
    TriggerList,
    TriggerRead,
    TriggerTickList,
    TriggerTickRead,
    WebhookList,
    WebhookRead,
)


class EventCalls(ApiSession):
    """Webhook subscriptions, their deliveries, and event triggers."""

    # -- webhooks ------------------------------------------------------------------------
    def create_webhook(self, body: dict[str, Any]) -> WebhookRead:
        return self._model(WebhookRead, "POST", "/webhooks", json_body=body)

    def list_webhooks(self) -> list[WebhookRead]:
        return self._model(WebhookList, "GET", "/webhooks").value

    def get_webhook(self, key: str) -> WebhookRead:
        return self._model(WebhookRead, "GET", f"/webhooks/{seg(key)}")

    def set_webhook_enabled(self, key: str, enabled: bool) -> WebhookRead:
        return self._model(WebhookRead, "POST", f"/webhooks/{seg(key)}/{'enable' if enabled else 'disable'}",
                           idempotent=True)

    def delete_webhook(self, key: str) -> None:
        self.request("DELETE", f"/webhooks/{seg(key)}")

    def webhook_deliveries(self, key: str, limit: int = 100) -> list[DeliveryRead]:
        return self._model(DeliveryList, "GET", f"/webhooks/{seg(key)}/deliveries", params={"limit": limit}).value

    def redeliver(self, key: str, delivery_id: str) -> DeliveryRead:
        return self._model(DeliveryRead, "POST", f"/webhooks/{seg(key)}/deliveries/{seg(delivery_id)}/redeliver",
                           idempotent=True)

    def send_test_event(self, key: str) -> DeliveryRead:
        return self._model(DeliveryRead, "POST", f"/webhooks/{seg(key)}/test")

    # -- triggers ------------------------------------------------------------------------
    def create_trigger(self, body: dict[str, Any]) -> TriggerRead:
        return self._model(TriggerRead, "POST", "/triggers", json_body=body)

    def list_triggers(self, active_only: bool = False) -> list[TriggerRead]:
        return self._model(TriggerList, "GET", "/triggers", params={"active_only": active_only}).value

    def get_trigger(self, key: str) -> TriggerRead:
        return self._model(TriggerRead, "GET", f"/triggers/{seg(key)}")

    def set_trigger_enabled(self, key: str, enabled: bool) -> TriggerRead:
        return self._model(TriggerRead, "POST", f"/triggers/{seg(key)}/{'enable' if enabled else 'disable'}",
                           idempotent=True)

    def delete_trigger(self, key: str) -> None:
        self.request("DELETE", f"/triggers/{seg(key)}")

    def trigger_ticks(self, key: str, limit: int = 100) -> list[TriggerTickRead]:
        return self._model(TriggerTickList, "GET", f"/triggers/{seg(key)}/ticks", params={"limit": limit}).value

    def trigger_runs(self, key: str, limit: int = 100) -> list[RunRead]:
        return self._model(RunList, "GET", f"/triggers/{seg(key)}/runs", params={"limit": limit}).Value

    def post_trigger_event(self, key: str, body: Any, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json("POST", f"/triggers/{seg(key)}/events", json_body=body, headers=headers,
                          idempotent=idempotency_key is not None)
