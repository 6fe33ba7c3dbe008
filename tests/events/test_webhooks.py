"""Webhook subscriptions through the services, delivered to a real HTTP receiver on loopback."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook as Verifier

from headrace.errors import AlreadyExistsError, EventError
from headrace.services import events, runs, webhooks
from headrace.services.bundle import Services
from headrace.services.events import EventDispatcher
from headrace.storage.event_records import DeliveryStatus
from headrace.storage.records import RunStatus
from webhook_receiver import receiver

from .conftest import FakeClock


def _until(check, timeout: float = 10.0):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
    return value


def test_unknown_event_is_refused_listing_the_valid_ones(svc: Services) -> None:
    with pytest.raises(EventError) as info:
        webhooks.create_webhook(svc, "ci", url="http://127.0.0.1:9/x", events=["run.finish"])
    assert "did you mean 'run.finished'" in str(info.value) and "model.stage_changed" in str(info.value)
    assert info.value.field == "events"
    assert webhooks.list_webhooks(svc) == []


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.org/x", "only http and https"),
    ("http://169.254.169.254/latest", "a cloud metadata address"),
    ("http://10.1.2.3/hook", "a private address"),
    ("http://[::1]:8080/hook", "a loopback address"),
])
def test_refused_urls_say_why(svc: Services, url: str, words: str) -> None:
    with pytest.raises(EventError) as info:
        webhooks.create_webhook(svc, "ci", url=url, events=["run.failed"])
    assert words in str(info.value)


def test_loopback_is_refused_unless_allowed(svc: Services) -> None:
    svc.webhooks.allowed_networks = ""
    with pytest.raises(EventError, match="127.0.0.1, a loopback address.*HEADRACE_WEBHOOKS__ALLOWED_NETWORKS"):
        webhooks.create_webhook(svc, "ci", url="http://127.0.0.1:9/x", events=["run.failed"])
    svc.webhooks.allowed_networks = "127.0.0.0/8"
    assert webhooks.create_webhook(svc, "ci", url="http://127.0.0.1:9/x", events=["run.failed"]).name == "ci"
    with pytest.raises(AlreadyExistsError):
        webhooks.create_webhook(svc, "ci", url="http://127.0.0.1:9/x", events=["run.failed"])


def test_secret_is_generated_shown_once_and_stored_encrypted(svc: Services) -> None:
    made = webhooks.create_webhook(svc, "ci", url="http://127.0.0.1:9/x", events=["run.failed"])
    assert made.secret.startswith("whsec_")
    assert webhooks.get_webhook(svc, "ci").secret == ""
    assert svc.store.get_webhook(made.id).secret != made.secret  # encrypted at rest
    with pytest.raises(EventError, match="whsec_"):
        webhooks.create_webhook(svc, "b", url="http://127.0.0.1:9/x", events=["run.failed"], secret="hunter2")


def test_signed_messages_verify_with_the_reference_library(svc: Services, published: str,
                                                          dispatcher: EventDispatcher) -> None:
    with receiver() as r:
        hook = webhooks.create_webhook(svc, "ci", url=r.url + "/hooks", events=["run.queued", "run.canceled"],
                                       filters={"experiment": "exp"})
        from headrace.services.publishing import submit_published

        run, _ = submit_published(svc, published, "exp")
        submit_published(svc, published, "other")  # filtered out
        runs.cancel_run(svc, run.id)
        dispatcher.run_pending()
        got = r.wait_for(2)
        time.sleep(0.1)
        assert len(r.requests) == 2
        verifier = Verifier(hook.secret)
        bodies = [verifier.verify(q.body, q.headers) for q in got]  # in event order
        assert [b["type"] for b in bodies] == ["run.queued", "run.canceled"]
        assert bodies[1]["data"]["run_id"] == run.id and bodies[1]["data"]["status"] == "Canceled"
        assert all(q.headers["webhook-id"].startswith("msg_") for q in got)
    log = webhooks.list_deliveries(svc, "ci")
    assert {d.status for d in log} == {DeliveryStatus.DELIVERED}
    assert all(d.response_code == 200 and d.latency_ms is not None and d.attempts == 1 for d in log)


def test_failures_retry_with_the_same_id_then_die_and_redeliver(svc: Services, dispatcher: EventDispatcher) -> None:
    with receiver(status=500) as r:
        webhooks.create_webhook(svc, "ci", url=r.url, events=["run.failed"])
        events.emit(svc, "run.failed", {"run_id": "r1", "experiment_name": "exp"})
        _until(lambda: dispatcher.run_pending() >= 0 and webhooks.list_deliveries(svc, "ci")
               and webhooks.list_deliveries(svc, "ci")[0].status is DeliveryStatus.DEAD)
        dead = webhooks.list_deliveries(svc, "ci")[0]
        assert dead.attempts >= 2 and dead.response_code == 500 and "HTTP 500" in dead.last_error
        assert {q.headers["webhook-id"] for q in r.requests} == {dead.id}
        r.status = 200
        webhooks.redeliver(svc, "ci", dead.id)
        dispatcher.run_pending()
        assert webhooks.list_deliveries(svc, "ci")[0].status is DeliveryStatus.DELIVERED
        assert r.requests[-1].headers["webhook-id"] == dead.id


def test_deliveries_to_one_webhook_go_out_in_event_order_retries_included(
        svc: Services, dispatcher: EventDispatcher, clock: FakeClock) -> None:
    with receiver(answers=[500]) as r:  # the first message fails once
        webhooks.create_webhook(svc, "ci", url=r.url, events=["run.failed"])
        for n in (1, 2, 3):
            events.emit(svc, "run.failed", {"run_id": f"r{n}"})
        dispatcher.run_pending()
        # Sent one after another: the failed first one holds the rest back until it is retried.
        assert [q.json["data"]["run_id"] for q in r.requests] == ["r1"]
        clock.advance(seconds=1)  # past the backoff
        dispatcher.run_pending()
        assert [q.json["data"]["run_id"] for q in r.requests] == ["r1", "r1", "r2", "r3"]
    log = {d.payload["data"]["run_id"]: d for d in webhooks.list_deliveries(svc, "ci")}
    assert {run: (d.status, d.attempts) for run, d in log.items()} == {
        "r1": (DeliveryStatus.DELIVERED, 2), "r2": (DeliveryStatus.DELIVERED, 1), "r3": (DeliveryStatus.DELIVERED, 1)}
    assert r.requests[0].headers["webhook-id"] == r.requests[1].headers["webhook-id"] == log["r1"].id


def test_send_test_and_disable(svc: Services, dispatcher: EventDispatcher) -> None:
    with receiver() as r:
        webhooks.create_webhook(svc, "ci", url=r.url, events=["run.failed"])
        webhooks.send_test(svc, "ci")
        dispatcher.run_pending()
        assert r.wait_for(1)[0].json["type"] == "webhook.test"
        webhooks.set_status(svc, "ci", "Disabled")
        events.emit(svc, "run.failed", {"run_id": "r1"})
        dispatcher.run_pending()
        assert len(r.requests) == 1


def test_apprise_notification_reaches_a_json_receiver(svc: Services, published: str,
                                                      dispatcher: EventDispatcher) -> None:
    with receiver() as r:
        target = r.url.replace("http://", "json://") + "/notify"
        webhooks.create_webhook(svc, "chat", apprise_url=target, events=["run.failed"])
        assert webhooks.get_webhook(svc, "chat").apprise_url == "(stored encrypted)"
        svc.webhooks.public_url = "http://headrace.example"
        d = EventDispatcher(svc, requeue_on_start=False)
        from headrace.services.publishing import submit_published

        run, _ = submit_published(svc, published, "exp", description="nightly training")
        svc.store.update_run(run.id, status=RunStatus.FAILED, error="Traceback...\nValueError: bad input")
        d.run_pending()
        d.stop()
        note = r.wait_for(1)[0].json
        assert note["title"] == "headrace: nightly training Failed"
        assert "ValueError: bad input" in note["message"]
        assert f"http://headrace.example/runs/{run.id}" in note["message"]


def test_the_dispatcher_ends_quietly_when_the_interpreter_exits(svc: Services, caplog, monkeypatch) -> None:
    # What concurrent.futures raises once interpreter exit has begun (an embedded workspace's script ending).
    dispatcher = EventDispatcher(svc, requeue_on_start=False)

    def exiting() -> int:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(dispatcher, "run_pending", exiting)
    with caplog.at_level("ERROR"):
        dispatcher.start()
        thread = dispatcher._thread
        thread.join(10)
        assert not thread.is_alive()
    assert "event dispatch pass failed" not in caplog.text
    dispatcher.stop()
