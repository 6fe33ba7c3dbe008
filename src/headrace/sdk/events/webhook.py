"""``Webhook``: a subscription that receives signed event messages (or Apprise notifications)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headrace.sdk.events.backend import events_backend
from headrace.storage.event_records import DeliveryRecord, WebhookRecord
from headrace.storage.records import EntityStatus


class Webhook:
    """A webhook subscription of a workspace (creating, changing and reading them needs the admin role).

    Messages are ``{"type", "timestamp", "data"}`` JSON bodies signed per Standard Webhooks
    (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), delivered at least once with retries.

    Example:
        >>> hook = Webhook.create(ws, "ci", url="https://ci.example.org/hooks", events=["run.failed"],
        ...                       filters={"experiment": "nightly"})  # doctest: +SKIP
        >>> hook.secret  # shown once: give it to the receiver  # doctest: +SKIP
        'whsec_...'
    """

    def __init__(self, workspace: Any, record: WebhookRecord):
        self.workspace = workspace
        self._record = record

    # -- creating and finding ----------------------------------------------------------------
    @staticmethod
    def create(workspace: Any, name: str, url: str | None = None, events: Sequence[str] = ("run.finished",),
               filters: Mapping[str, Any] | None = None, secret: str | None = None, *,
               apprise_url: str | None = None, description: str | None = None, status: str = "Active") -> Webhook:
        """Subscribe ``url`` (http or https) or ``apprise_url`` (chat, mail) to ``events``.

        Args:
            workspace: the workspace.
            name: a unique name.
            url: where signed messages are posted.
            events: event types (``Webhook.event_types()`` lists them).
            filters: field -> value (or list): ``experiment``, ``pipeline``, ``endpoint``, ``model``, ``status``
                or any field of the event's data.
            secret: ``whsec_<base64>``; drawn when left out. ``webhook.secret`` holds it on the returned
                object only.
            apprise_url: an Apprise URL instead of ``url``: short notifications (run, status, error tail, link).
            description: free text.
            status: "Active" or "Disabled".

        Raises:
            EventError: an unknown event (the valid ones are listed), a URL that is not http(s) or resolves
                to a refused network (named), a malformed secret.
            AlreadyExistsError: the name is taken.
        """
        record = events_backend(workspace).create_webhook(
            name=name, url=url, apprise_url=apprise_url, events=list(events), filters=dict(filters or {}),
            secret=secret, description=description, status=EntityStatus(status))
        return Webhook(workspace, record)

    @staticmethod
    def get(workspace: Any, name: str) -> Webhook:
        """A subscription by name or id. Raises: NotFoundError."""
        return Webhook(workspace, events_backend(workspace).get_webhook(name))

    @staticmethod
    def list(workspace: Any) -> list[Webhook]:
        return [Webhook(workspace, r) for r in events_backend(workspace).list_webhooks()]

    @staticmethod
    def event_types() -> dict[str, str]:
        """Every event headrace emits, with what it means."""
        from headrace.core.events import EVENT_TYPES

        return dict(EVENT_TYPES)

    # -- attributes ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def url(self) -> str | None:
        return self._record.url

    @property
    def events(self) -> list[str]:
        return list(self._record.events)

    @property
    def filters(self) -> dict[str, Any]:
        return dict(self._record.filters)

    @property
    def status(self) -> str:
        return self._record.status.value

    @property
    def secret(self) -> str | None:
        """The signing secret: only on the object ``create`` returned (it is never shown again)."""
        return self._record.secret or None

    # -- actions ------------------------------------------------------------------------------
    def disable(self) -> None:
        """Stop sending to it (pending deliveries end dead)."""
        self._record = events_backend(self.workspace).set_webhook_status(self.id, EntityStatus.DISABLED)

    def enable(self) -> None:
        self._record = events_backend(self.workspace).set_webhook_status(self.id, EntityStatus.ACTIVE)

    def delete(self) -> None:
        """Delete the subscription and its delivery log."""
        events_backend(self.workspace).delete_webhook(self.id)

    def get_deliveries(self, limit: int = 100) -> list[DeliveryRecord]:
        """The delivery log, newest first: status, attempts, response code, latency, last error."""
        return events_backend(self.workspace).deliveries(self.id, limit)

    def redeliver(self, delivery_id: str) -> DeliveryRecord:
        """Send a message again now (same ``webhook-id``)."""
        return events_backend(self.workspace).redeliver(self.id, delivery_id)

    def send_test(self) -> DeliveryRecord:
        """Queue a ``webhook.test`` message; follow it with ``get_deliveries``."""
        return events_backend(self.workspace).send_test(self.id)

    def __repr__(self) -> str:
        target = self.url or "(apprise)"
        return f"Webhook(name={self.name!r}, url={target!r}, events={self.events}, status={self.status!r})"
