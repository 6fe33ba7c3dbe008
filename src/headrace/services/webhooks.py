"""Webhook subscriptions: create, read, enable/disable, delete, their delivery log, redeliver, send a test.

A subscription has either ``url`` (http or https; signed Standard Webhooks messages) or ``apprise_url``
(chat and mail through Apprise, the ``notify`` extra). Its secret is drawn when not given and is
returned once, by ``create_webhook``; the store keeps it, and the Apprise URL (which holds the
service's credentials), encrypted under the workspace's key, as connections' keys are.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.core.events import check_event_types, check_filters, message
from headrace.errors import EventError, NotFoundError
from headrace.services import delivery, notifications
from headrace.services.bundle import Services
from headrace.services.connections import secret_key
from headrace.services.publishing import check_name
from headrace.storage.event_records import DeliveryRecord, DeliveryStatus, WebhookRecord
from headrace.storage.records import EntityStatus

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

__all__ = ["create_webhook", "delete_webhook", "get_webhook", "list_deliveries", "list_webhooks", "redeliver",
           "send_test", "set_status"]

TEST_EVENT = "webhook.test"


def _fernet(svc: Services) -> Fernet:
    from cryptography.fernet import Fernet  # on use: a process that sends no webhook needs none

    return Fernet(secret_key(svc.home))


def reveal(svc: Services, record: WebhookRecord) -> WebhookRecord:
    """The record with its secret and Apprise URL decrypted (for the dispatcher only)."""
    f = _fernet(svc)
    apprise_url = f.decrypt(record.apprise_url.encode()).decode() if record.apprise_url else None
    return replace(record, secret=f.decrypt(record.secret.encode()).decode(), apprise_url=apprise_url)


def _view(record: WebhookRecord) -> WebhookRecord:
    """What callers see: no secret, and of an Apprise URL only its scheme."""
    shown = None
    if record.apprise_url:
        shown = "(stored encrypted)"
    return replace(record, secret="", apprise_url=shown)


def _check_apprise(url: Any) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise EventError("give an Apprise URL such as slack://…, mailto://… or json://host/path", field="apprise_url")
    try:
        apprise = notifications.load_apprise()
    except ImportError:
        raise EventError("notifications need Apprise: pip install 'headrace[notify]'", field="apprise_url") from None
    with notifications.quiet():
        known = apprise.Apprise().add(url)
    if not known:
        raise EventError(f"Apprise does not understand the URL scheme {url.split('://', 1)[0]!r}",
                         field="apprise_url")
    return url


def create_webhook(svc: Services, name: str, *, events: Sequence[str], url: str | None = None,
                   apprise_url: str | None = None, filters: Mapping[str, Any] | None = None,
                   secret: str | None = None, description: str | None = None,
                   status: EntityStatus = EntityStatus.ACTIVE) -> WebhookRecord:
    """Subscribe ``url`` (or ``apprise_url``) to ``events``; returns the record with its secret, shown once.

    Raises:
        EventError: an unknown event (the valid ones are listed), a URL that is not http(s) or resolves to a
            refused network (named), a malformed secret, or both or neither of ``url`` and ``apprise_url``.
        AlreadyExistsError: the name is taken.
    """
    check_name("webhook", name)
    if bool(url) == bool(apprise_url):
        raise EventError("give exactly one of url (signed HTTP messages) and apprise_url (notifications)",
                         field="url")
    if url:
        delivery.check_url(url, svc.webhooks.networks)
    else:
        _check_apprise(apprise_url)
    plain = delivery.check_secret(secret) if secret else delivery.generate_secret()
    now = clock.now()
    f = _fernet(svc)
    record = WebhookRecord(
        id=uuid.uuid4().hex, name=name, status=EntityStatus(status),
        events=check_event_types(events if not isinstance(events, str) else [events]),
        filters=check_filters(filters), secret=f.encrypt(plain.encode()).decode(), created_at=now,
        updated_at=now, url=url or None,
        apprise_url=f.encrypt(apprise_url.encode()).decode() if apprise_url else None, description=description,
    )
    created = svc.store.create_webhook(record)
    return replace(_view(created), secret=plain)


def _find(svc: Services, key: str) -> WebhookRecord:
    return svc.store.get_webhook(key)


def get_webhook(svc: Services, key: str) -> WebhookRecord:
    """A subscription by id or name (without its secret). Raises: NotFoundError."""
    return _view(_find(svc, key))


def list_webhooks(svc: Services, *, active_only: bool = False) -> list[WebhookRecord]:
    return [_view(r) for r in svc.store.list_webhooks(active_only=active_only)]


def set_status(svc: Services, key: str, status: EntityStatus | str) -> WebhookRecord:
    record = _find(svc, key)
    return _view(svc.store.update_webhook(record.id, status=EntityStatus(status), updated_at=clock.now()))


def delete_webhook(svc: Services, key: str) -> None:
    svc.store.delete_webhook(_find(svc, key).id)


def list_deliveries(svc: Services, key: str, *, limit: int = 100) -> list[DeliveryRecord]:
    """The delivery log, newest first. Raises: NotFoundError."""
    return svc.store.list_deliveries(_find(svc, key).id, limit=limit)


def redeliver(svc: Services, key: str, delivery_id: str) -> DeliveryRecord:
    """Send a delivery again now, with the same ``webhook-id``, and a new retry window.

    Raises:
        NotFoundError: no such subscription, or no such delivery of it.
    """
    record = _find(svc, key)
    found = svc.store.get_delivery(delivery_id)
    if found.webhook_id != record.id:
        raise NotFoundError("delivery", delivery_id, f"of webhook {record.name!r}")
    updated = svc.store.update_delivery(delivery_id, status=DeliveryStatus.PENDING, next_attempt_at=clock.now(),
                                        attempts=0, last_error=None, lease_owner=None, lease_expires_at=None)
    svc.notify_events()
    return updated


def send_test(svc: Services, key: str) -> DeliveryRecord:
    """Queue a ``webhook.test`` message to the subscription (whatever its events and filters)."""
    record = _find(svc, key)
    now = clock.now()
    event_id = f"evt_{uuid.uuid4().hex}"
    data = {"webhook_id": record.id, "webhook_name": record.name, "message": "a test event from headrace"}
    item = new_delivery(record.id, event_id, TEST_EVENT, message(TEST_EVENT, now, data), now)
    svc.store.add_deliveries([item])
    svc.notify_events()
    return item


def new_delivery(webhook_id: str, event_id: str, event_type: str, payload: dict[str, Any], now: Any) -> DeliveryRecord:
    return DeliveryRecord(id=f"msg_{uuid.uuid4().hex}", webhook_id=webhook_id, event_id=event_id,
                          event_type=event_type, payload=payload, status=DeliveryStatus.PENDING, created_at=now,
                          next_attempt_at=now)
