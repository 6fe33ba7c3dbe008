"""Inbound event bodies: plain JSON, Azure Event Grid (its schema, arrays, the validation handshake),
CloudEvents as Event Grid sends them, and S3 event notifications, each turned into (event id, body) pairs.

``@triggerBody()`` is each body in turn: an Event Grid array fires once per event, an S3 notification
once per record (the body is then ``{"Records": [record], **record}`` so both ``@triggerBody().s3.object.key``
and the original shape read). Blob and object events also get where the object is: ``blobPath`` (the
path inside its container or bucket), ``container`` or ``bucket``, and Azure Data Factory's ``folderPath``
and ``fileName``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from headrace.errors import EventError

__all__ = ["Inbound", "parse"]

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


@dataclass
class Inbound:
    """What a posted body holds: the events to fire on, or the answer to an Event Grid handshake."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    validation_response: dict[str, Any] | None = None
    kind: str = "json"


def _content_id(body: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:40]


def _is_event_grid(item: Any) -> bool:
    return isinstance(item, Mapping) and "eventType" in item and "id" in item and "data" in item


def _is_s3(body: Any) -> bool:
    records = body.get("Records") if isinstance(body, Mapping) else None
    return isinstance(records, list) and bool(records) and all(
        isinstance(r, Mapping) and r.get("eventSource") == "aws:s3" for r in records)


def _path_fields(container: str, kind: str, path: str) -> dict[str, str]:
    """Where the object is, in Azure Data Factory's names (``folderPath`` with the container, ``fileName``)
    and headrace's (``blobPath`` within the container, the container or bucket)."""
    folder, _, name = path.rpartition("/")
    return {kind: container, "blobPath": path, "fileName": name,
            "folderPath": f"{container}/{folder}" if folder else container}


def _with_blob_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    event = dict(item)
    subject = str(event.get("subject") or "")
    if str(event.get("eventType", "")).startswith("Microsoft.Storage.Blob") and "/blobs/" in subject:
        head, _, path = subject.partition("/blobs/")
        event.update({k: v for k, v in _path_fields(head.rpartition("/containers/")[2], "container", path).items()
                      if k not in event})
    return event


def parse(body: Any, *, event_id: str | None = None) -> Inbound:
    """Split a posted JSON body into events.

    Args:
        body: the parsed JSON.
        event_id: an id the sender gave in a header (``Idempotency-Key``, ``ce-id``), for a plain body.

    Raises:
        EventError: an empty array, or an array of something other than Event Grid events.
    """
    if isinstance(body, list) or _is_event_grid(body):
        items = body if isinstance(body, list) else [body]
        if not items:
            raise EventError("the body is an empty array: no event to fire on", field="body")
        if not all(_is_event_grid(item) for item in items):
            raise EventError("an array body must hold Azure Event Grid events (id, eventType, subject, data)",
                             field="body")
        for item in items:
            if item["eventType"] == VALIDATION_EVENT:
                code = (item.get("data") or {}).get("validationCode")
                return Inbound(validation_response={"validationResponse": code}, kind="eventgrid")
        return Inbound(events=[(f"eventgrid:{item['id']}", _with_blob_fields(item)) for item in items],
                       kind="eventgrid")
    if isinstance(body, Mapping) and "specversion" in body and "id" in body and "type" in body:
        return Inbound(events=[(f"cloudevents:{body.get('source', '')}:{body['id']}", dict(body))], kind="cloudevents")
    if _is_s3(body):
        events = []
        for record in body["Records"]:
            obj = (record.get("s3") or {}).get("object") or {}
            bucket = ((record.get("s3") or {}).get("bucket") or {}).get("name", "")
            key = f"s3:{bucket}/{obj.get('key', '')}@{obj.get('sequencer') or obj.get('eTag') or record.get('eventTime')}"
            path = unquote_plus(str(obj.get("key", "")))  # S3 sends keys URL-encoded
            events.append((key, {"Records": [record], **record, **_path_fields(bucket, "bucket", path)}))
        return Inbound(events=events, kind="s3")
    if not isinstance(body, Mapping):
        raise EventError(f"the body must be a JSON object or an Event Grid array, not {type(body).__name__}",
                         field="body")
    own = event_id or (str(body["id"]) if isinstance(body.get("id"), str | int) else None)
    return Inbound(events=[(f"http:{own}" if own else _content_id(body), dict(body))])
