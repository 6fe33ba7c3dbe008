"""The webhooks and triggers pages in a real browser (Debian's chromium via Playwright) against live uvicorn.

Deliveries go to a real receiver on loopback; the dispatcher is driven by hand (``run_pending``).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from ui_browser import sign_in

from headrace.services import triggers, webhooks
from headrace.services.events import EventDispatcher
from headrace.storage.event_records import DeliveryStatus
from webhook_receiver import receiver


def test_webhook_page_sends_a_test_and_redelivers(live, page) -> None:
    live.svc.webhooks.allowed_networks = "127.0.0.0/8"
    dispatcher = EventDispatcher(live.svc, requeue_on_start=False)
    try:
        with receiver(status=500) as r:
            webhooks.create_webhook(live.svc, "ci-hook", url=r.url + "/in", events=["run.failed", "run.finished"],
                                    filters={"experiment": "nightly"})
            sign_in(page, live.url, live.tokens["admin"])
            page.click("nav >> text=Webhooks")
            row = page.locator("table.webhooks tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("run.failed, run.finished")
            expect(row).to_contain_text("experiment=nightly")
            row.locator("a.name").click()
            expect(page.locator("h1")).to_have_text("Webhook ci-hook")
            page.click("text=Send test event")
            expect(page.locator("table.deliveries tbody tr")).to_have_count(1)
            dispatcher.run_pending()  # the receiver answers 500: the attempt is logged, a retry scheduled
            page.reload()
            first = page.locator("table.deliveries tbody tr").first
            expect(first.locator(".status")).to_have_text("pending")
            expect(first).to_contain_text("500")
            expect(first).to_contain_text("HTTP 500")
            r.status = 200
            with page.expect_navigation():  # the form's POST is done (the delivery queued again) before sending
                first.locator("button", has_text="Redeliver").click()
            dispatcher.run_pending()
            page.reload()
            expect(page.locator("table.deliveries tbody tr").first.locator(".status")).to_have_text("delivered")
            assert webhooks.list_deliveries(live.svc, "ci-hook")[0].status is DeliveryStatus.DELIVERED
            assert len({q.headers["webhook-id"] for q in r.requests}) == 1
    finally:
        dispatcher.stop()


def test_readers_see_no_webhooks(live, page) -> None:
    sign_in(page, live.url, live.tokens["reader"])
    expect(page.locator("nav")).not_to_contain_text("Webhooks")
    response = page.goto(f"{live.url}/webhooks")
    assert response is not None and response.status == 403
    expect(page.locator(".error")).to_contain_text("admin")


def test_trigger_page_shows_ticks_and_runs(live, published, page) -> None:
    triggers.create_trigger(live.svc, "on-blob", event="http", experiment_name="ingest", pipeline_id=published,
                            pipeline_parameters={"tag": "@triggerBody().fileName"})
    out = triggers.fire_inbound(live.svc, "on-blob", [{
        "id": "e1", "eventType": "Microsoft.Storage.BlobCreated", "eventTime": "2026-12-07T10:00:00Z",
        "subject": "/blobServices/default/containers/raw/blobs/in/a.csv", "dataVersion": "", "data": {}}])
    run_id = out["events"][0]["runs"][0]
    sign_in(page, live.url, live.tokens["reader"])
    page.click("nav >> text=Triggers")
    row = page.locator("table.triggers tbody tr")
    expect(row).to_contain_text("http")
    row.locator("a.name").click()
    expect(page.locator("h1")).to_have_text("Trigger on-blob")
    expect(page.locator("table.ticks tbody tr .outcome")).to_have_text("fired")
    expect(page.locator("table.ticks")).to_contain_text("eventgrid:e1")
    expect(page.locator("ul.runs")).to_contain_text(run_id)
    expect(page.locator("button", has_text=re.compile("Disable"))).to_have_count(0)  # readers change nothing
    live.wait_run(run_id)
