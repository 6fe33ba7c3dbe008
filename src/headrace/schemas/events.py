"""Wire models of webhooks, their deliveries and event triggers (``/api/v1/webhooks``, ``/api/v1/triggers``).

These names are headrace's own (Azure ML v1 had neither), so their fields are snake_case as the
Standard Webhooks and Event Grid payloads they sit beside.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import _Request, _Wire


class WebhookCreate(_Request):
    name: str
    events: list[str] = Field(description="Event types, e.g. run.finished; an unknown one is refused (400) "
                                          "with the list of valid ones.")
    url: str | None = Field(default=None, description="http(s) URL receiving signed Standard Webhooks messages.")
    apprise_url: str | None = Field(default=None, description="An Apprise URL (slack://, mailto://, json://...) "
                                                              "receiving short notifications instead.")
    filters: dict[str, Any] = Field(default_factory=dict, description="field -> value (or list): experiment, "
                                    "pipeline, endpoint, model, status, or any data field (dotted).")
    secret: str | None = Field(default=None, description="whsec_<base64>; drawn when left out (returned once).")
    description: str | None = None
    status: str = "Active"


class WebhookRead(_Wire):
    id: str
    name: str
    status: str
    events: list[str]
    filters: dict[str, Any]
    url: str | None = None
    apprise_url: str | None = None
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(default=None, description="Only in the answer to the creation: keep it.")


class WebhookList(_Wire):
    value: list[WebhookRead]


class DeliveryRead(_Wire):
    id: str = Field(description="The message's webhook-id, the same on every retry.")
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None = None
    response_code: int | None = None
    latency_ms: float | None = None
    last_error: str | None = None
    payload: dict[str, Any]


class DeliveryList(_Wire):
    value: list[DeliveryRead]


class TriggerCreate(_Request):
    name: str
    event: str = Field(description="A headrace event type (run.finished, model.stage_changed, ...) or 'http' "
                                   "(events posted to /api/v1/triggers/{name}/events).")
    experiment_name: str
    pipeline_id: str | None = Field(default=None, description="A published pipeline id (or pipeline_endpoint_id).")
    pipeline_endpoint_id: str | None = None
    filters: dict[str, Any] = Field(default_factory=dict)
    pipeline_parameters: dict[str, Any] = Field(default_factory=dict, description="Values, or expressions read "
                                                "when the event arrives: '@triggerBody().data.url'.")
    description: str | None = None
    status: str = "Active"


class TriggerRead(_Wire):
    id: str
    name: str
    event: str
    status: str
    experiment_name: str
    pipeline_id: str | None = None
    pipeline_endpoint_id: str | None = None
    filters: dict[str, Any]
    pipeline_parameters: dict[str, Any]
    description: str | None = None
    created_at: datetime
    updated_at: datetime
    events_url: str | None = Field(default=None, description="Where an 'http' trigger's events are posted.")


class TriggerList(_Wire):
    value: list[TriggerRead]


class TriggerTickRead(_Wire):
    id: str
    trigger_id: str
    evaluated_at: datetime
    outcome: str
    event_id: str
    reason: str
    run_ids: list[str]


class TriggerTickList(_Wire):
    value: list[TriggerTickRead]


class EventTypeList(_Wire):
    value: dict[str, str] = Field(description="Event type -> what it means.")
