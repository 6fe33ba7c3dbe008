"""Event names, subscription filters and the message shape: the definitions webhooks and triggers share.

An event is ``{"type": "run.finished", "timestamp": "<ISO 8601>", "data": {...}}``. ``data`` holds the
run id, names and status for run events (``run_id``, ``experiment_name``, ``status``, ``error``,
``published_pipeline_id``, ``pipeline_endpoint_id``, ...), the step for ``step.failed``, the schedule
for schedule events, the model name and version for model events.

A filter is ``{key: value or [values]}``; an event passes when every key matches. Keys are a field
of ``data`` (dotted for nested ones: ``tags.team``) or one of the short names in ``FILTER_KEYS``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from headrace.errors import EventError

__all__ = ["EVENT_TYPES", "FILTER_KEYS", "HTTP_EVENT", "MISSING", "check_event_types", "check_filters", "lookup",
           "matches", "message"]

EVENT_TYPES: dict[str, str] = {
    "run.queued": "a run was queued",
    "run.started": "an agent started a run",
    "run.finished": "a run finished successfully",
    "run.failed": "a run failed",
    "run.canceled": "a run was canceled",
    "step.failed": "a step of a run failed",
    "schedule.fire_failed": "a schedule's evaluation failed (its fire made no run)",
    "schedule.disabled": "a schedule was disabled",
    "model.version_registered": "a model version was registered",
    "model.stage_changed": "a model version moved to another stage",
    "dataset.version_registered": "a dataset version was registered",
}
"""Every event headrace emits, with what it means."""

HTTP_EVENT = "http"
"""A trigger's event name for events posted to its own URL (``POST /api/v1/triggers/{name}/events``)."""

FILTER_KEYS: dict[str, str] = {
    "experiment": "experiment_name",
    "pipeline": "published_pipeline_id",
    "endpoint": "pipeline_endpoint_id",
    "schedule": "schedule_id",
    "model": "model_name",
    "dataset": "dataset_name",
    "stage": "stage",
    "status": "status",
}
"""Short filter names and the ``data`` field each reads."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def check_event_types(names: Iterable[Any], *, allow_http: bool = False, field: str = "events") -> list[str]:
    """The names, checked: each a known event type (or ``http`` where allowed).

    Raises:
        EventError: an unknown name (the message lists the valid ones), or none at all.
    """
    names = list(names)
    valid = list(EVENT_TYPES) + ([HTTP_EVENT] if allow_http else [])
    if not names:
        raise EventError(f"give at least one event; valid: {', '.join(valid)}", field=field)
    for name in names:
        if name not in valid:
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise EventError(f"unknown event {name!r}; {hint}valid events: {', '.join(valid)}", field=field)
    return list(dict.fromkeys(names))


def check_filters(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """A filter mapping, checked: string keys, values scalars or lists of scalars.

    Raises:
        EventError: a value of another shape.
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise EventError(f"filters must be an object of field -> value, got {type(filters).__name__}",
                         field="filters")
    out: dict[str, Any] = {}
    for key, value in filters.items():
        values = value if isinstance(value, list) else [value]
        if not isinstance(key, str) or not key or any(isinstance(v, dict | list) for v in values):
            raise EventError(f"filter {key!r}: give a value or a list of values", field="filters")
        out[key] = value
    return out


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` inside ``data`` (list items by index), or ``MISSING``."""
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def matches(filters: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """Whether ``data`` passes every filter (a list value: any of them)."""
    for key, wanted in filters.items():
        found = lookup(data, FILTER_KEYS.get(key, key))
        choices = wanted if isinstance(wanted, list) else [wanted]
        if found is MISSING or not any(_same(found, choice) for choice in choices):
            return False
    return True


def _same(found: Any, wanted: Any) -> bool:
    if found == wanted:
        return True
    return isinstance(wanted, str) and not isinstance(found, dict | list) and str(found) == wanted


def message(type: str, created_at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    """The body a subscriber receives."""
    stamp = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return {"type": type, "timestamp": stamp.astimezone(UTC).isoformat().replace("+00:00", "Z"), "data": dict(data)}
