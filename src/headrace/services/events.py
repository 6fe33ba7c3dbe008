"""Events out: ``emit`` into the outbox, and the dispatcher that turns it into deliveries and trigger fires.

Most events are written by the metadata store itself, in the transaction of the change they tell
about (a run's status, a failed step, a schedule's failed fire or disabling). ``emit`` is for the rest.

``EventDispatcher`` runs in the server (and in an embedded workspace's process beside its agent):

1. Dispatch: the pending events, oldest first, become one delivery per matching active subscription,
   inserted in the same transaction that marks the events dispatched; active triggers listening to an
   event's type are evaluated (each event fires a trigger at most once: its id is the fire key).
2. Deliver: due deliveries are claimed (leased, attempt counted) as runs from the head of each
   subscription's queue (see ``storage/sql/deliveries.py``), the runs sent concurrently, each run's
   deliveries one after another in event order, and their outcome written in one transaction:
   delivered, retried later (exponential backoff; the rest of its run goes back unsent, behind it) or
   dead once the retry window is spent. At-least-once: a process killed mid-send leaves the delivery
   "sending"; the next start sends it again at once (``requeue_deliveries``), with the same ``webhook-id``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.core.events import EVENT_TYPES, check_event_types, matches, message
from headrace.errors import ConflictError, NotFoundError, StoreError
from headrace.services import delivery, notifications, triggers, webhooks
from headrace.services.bundle import Services
from headrace.storage.event_records import DeliveryRecord, DeliveryStatus, EventRecord, WebhookRecord
from headrace.storage.records import EntityStatus

if TYPE_CHECKING:
    import httpx

__all__ = ["EVENT_TYPES", "EventDispatcher", "emit"]

log = logging.getLogger(__name__)

LANES = 2


def emit(svc: Services, type: str, data: Mapping[str, Any]) -> EventRecord:
    """Append an event to the outbox (for changes the store does not write events for itself).

    Raises:
        EventError: an unknown event type (the valid ones are listed).
    """
    check_event_types([type], field="type")
    record = EventRecord(id=f"evt_{uuid.uuid4().hex}", type=type, created_at=clock.now(), data=dict(data))
    svc.store.add_events([record])
    svc.notify_events()
    return record


class EventDispatcher:
    """Dispatches the outbox and sends deliveries; ``start()`` runs it on a background thread.

    Args:
        svc: the services bundle (``svc.webhooks`` holds the delivery settings).
        owner: this dispatcher's lease owner id.
        poll_seconds: how often the outbox is looked at when nothing wakes the dispatcher.
        requeue_on_start: send at once what was in flight when the previous process died (the server
            does; an embedded workspace's process leaves that to lease expiry).
        base_url: the server's address, for links in notifications.
    """

    def __init__(self, svc: Services, *, owner: str | None = None, poll_seconds: float = 0.25,
                 requeue_on_start: bool = True, base_url: str | None = None, batch: int = 500):
        self.svc = svc
        self.settings = svc.webhooks
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poll = poll_seconds
        self.requeue_on_start = requeue_on_start
        self.base_url = self.settings.public_url or base_url
        self.batch = batch
        self.attempt_limit = delivery.max_attempts(self.settings.retry_seconds, self.settings.first_backoff_seconds,
                                                   self.settings.max_backoff_seconds)
        self._http: httpx.Client | None = None  # made on the first webhook sent: most processes send none
        self._http_lock = threading.Lock()
        self.claim_size = self.settings.concurrency * 4
        self.lease_seconds = self.settings.timeout_seconds + 30  # one attempt, and time to record it
        self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="headrace-webhook")
        self._lanes = ThreadPoolExecutor(LANES, thread_name_prefix="headrace-delivery-lane")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune: datetime | None = None
        self._open = True  # whether the last pass saw deliveries to send (else no due time to look up)
        svc.on_events.append(self.wake)

    # -- one pass ---------------------------------------------------------------------------
    def run_pending(self) -> int:
        """Dispatch every pending event, then send every due delivery; returns how many were sent."""
        while self.dispatch() >= self.batch:
            pass
        # Claims are writes: with nothing open (no webhooks, or all sent) one indexed read is the whole pass,
        # so a busy embedded run's engine does not queue behind the dispatcher for the write lock.
        self._open = self.svc.store.has_open_deliveries()
        if not self._open:
            return 0
        # Two lanes, each claim -> send -> record: one lane's database work overlaps the other's sends.
        return sum(self._lanes.map(lambda _: self._drain(), range(LANES)))

    def _drain(self) -> int:
        sent = 0
        while True:
            n = self.deliver_due()
            sent += n
            if n < self.claim_size:
                return sent

    def dispatch(self) -> int:
        """Turn one batch of pending events into deliveries and trigger fires; returns how many events."""
        events = self.svc.store.list_pending_events(self.batch)
        if not events:
            return 0
        hooks = self.svc.store.list_webhooks(active_only=True)
        listening = [t for t in self.svc.store.list_triggers(active_only=True) if t.event in EVENT_TYPES]
        now = clock.now()
        items: list[DeliveryRecord] = []
        for event in events:
            body = message(event.type, event.created_at, event.data)
            for hook in hooks:
                if event.type in hook.events and matches(hook.filters, event.data):
                    items.append(webhooks.new_delivery(hook.id, event.id, event.type, body, now))
            for trigger in listening:
                if trigger.event == event.type:
                    try:
                        triggers.evaluate_event(self.svc, trigger, event.id, body, event.data)
                    except StoreError:
                        raise
                    except Exception:  # a bug in one trigger must not hold up the outbox
                        log.exception("trigger %s: evaluating event %s failed", trigger.name, event.id)
        try:
            self.svc.store.mark_events_dispatched([e.id for e in events], items, now)
        except ConflictError:
            log.info("events dispatched meanwhile by another process; taking the next batch")
        return len(events)

    def deliver_due(self) -> int:
        """Claim and send one batch of due deliveries; returns how many were claimed."""
        now = clock.now()
        lease = now + timedelta(seconds=self.lease_seconds)
        claimed = self.svc.store.claim_deliveries(self.owner, now=now, lease_until=lease, limit=self.claim_size)
        if not claimed:
            return 0
        hooks: dict[str, WebhookRecord | None] = {}
        for item in claimed:
            if item.webhook_id not in hooks:
                try:
                    hooks[item.webhook_id] = webhooks.reveal(self.svc, self.svc.store.get_webhook(item.webhook_id))
                except NotFoundError:
                    hooks[item.webhook_id] = None
        runs: dict[str, list[DeliveryRecord]] = {}
        for item in claimed:  # a subscription's run, in queue order; a test message on its own
            runs.setdefault(item.webhook_id if item.seq is not None else item.id, []).append(item)
        sent = self._pool.map(lambda run: self._send_run(run, hooks[run[0].webhook_id]), runs.values())
        self.svc.store.update_deliveries([outcome for run in sent for outcome in run])
        return len(claimed)

    def _send_run(self, run: list[DeliveryRecord], hook: WebhookRecord | None) -> list[tuple[str, dict[str, Any]]]:
        """Send a run of one subscription's queue one after another. After a delivery that is to be
        retried, or once the lease leaves no room for another attempt, the rest go back unsent (behind it)."""
        started = clock.monotonic()
        outcomes: list[tuple[str, dict[str, Any]]] = []
        for n, item in enumerate(run):
            retrying = bool(outcomes) and outcomes[-1][1]["status"] is DeliveryStatus.PENDING
            if retrying or (n and clock.monotonic() - started + self.settings.timeout_seconds >= self.lease_seconds):
                outcomes += [(rest.id, {"status": DeliveryStatus.PENDING, "attempts": rest.attempts - 1,
                                        "lease_owner": None, "lease_expires_at": None}) for rest in run[n:]]
                break
            outcomes.append(self._send(item, hook))
        return outcomes

    def _client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                import httpx

                n = self.settings.concurrency * 2
                self._http = httpx.Client(limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
            return self._http

    def _send(self, item: DeliveryRecord, hook: WebhookRecord | None) -> tuple[str, dict[str, Any]]:
        if hook is None or hook.status is not EntityStatus.ACTIVE:
            why = "the webhook was deleted" if hook is None else "the webhook is disabled"
            return item.id, {"status": DeliveryStatus.DEAD, "last_error": why, "lease_owner": None}
        at = clock.now()
        if hook.url:
            attempt = delivery.send_http(self._client(), hook.url, msg_id=item.id, secret=hook.secret,
                                         payload=item.payload, allowed_networks=self.settings.networks,
                                         timeout=self.settings.timeout_seconds)
        else:
            attempt = notifications.send(hook.apprise_url or "", item.payload, self.base_url)
        changes: dict[str, Any] = {"response_code": attempt.response_code, "latency_ms": round(attempt.latency_ms, 3),
                                   "last_error": attempt.error, "lease_owner": None, "lease_expires_at": None,
                                   "last_attempt_at": at}
        if attempt.ok:
            changes["status"] = DeliveryStatus.DELIVERED
        elif attempt.final or item.attempts >= self.attempt_limit:
            changes["status"] = DeliveryStatus.DEAD
        else:
            wait = delivery.backoff(item.attempts, self.settings.first_backoff_seconds, self.settings.max_backoff_seconds)
            changes.update(status=DeliveryStatus.PENDING, next_attempt_at=clock.now() + timedelta(seconds=wait))
        return item.id, changes

    def _prune(self) -> None:
        now = clock.now()
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        try:
            self.svc.store.prune_events(now - timedelta(days=self.settings.history_days))
        except StoreError:
            log.exception("pruning the event history failed; will retry in an hour")

    # -- background thread ------------------------------------------------------------------
    def wake(self, *_args: object) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.requeue_on_start:
            try:
                n = self.svc.store.requeue_deliveries(clock.now())
                if n:
                    log.info("%d webhook deliveries were in flight when the last process stopped: sending again", n)
            except StoreError:
                log.exception("could not requeue in-flight deliveries; they go out when their lease expires")
        self._thread = threading.Thread(target=self._loop, name="headrace-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._lanes.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            self._http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_pending()
                self._prune()
                delay = self._delay()
            except RuntimeError as exc:
                # The interpreter is exiting (an embedded workspace's script ended): "cannot schedule new
                # futures after interpreter shutdown"; "... after shutdown" once stop() shut the pools.
                if "cannot schedule new futures" in str(exc):
                    return
                log.exception("event dispatch pass failed; retrying")
                delay = 1.0
            except Exception:
                log.exception("event dispatch pass failed; retrying")
                delay = 1.0
            self._wake.wait(delay)

    def _delay(self) -> float:
        due = self.svc.store.next_delivery_due() if self._open else None
        if due is None:
            return self.poll
        return min(max((due - clock.now()).total_seconds(), 0.0), self.poll)
