"""The experiments pages in a real browser (Debian's chromium via Playwright) against live uvicorn.

Runs come from the REST API (``live.client("submitter")``), from a schedule's fire
(``services.schedules.fire``) and, for paging, straight from the store (finished runs, so the
agent has nothing to execute).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import httpx
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import ScheduleRecurrence, clock
from headrace.services import schedules
from headrace.storage.records import RunStatus


def submit(live, published: str, experiment: str, tag: str) -> str:
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": experiment, "ParameterAssignments": {"tag": tag}})
    assert r.status_code == 200, r.text
    return r.json()["Id"]


def test_list_and_page_show_runs_from_rest_and_a_schedule(page, live, published) -> None:
    first = submit(live, published, "exp-a", "a1")
    second = submit(live, published, "exp-a", "a2")
    other = submit(live, published, "exp-b", "b1")
    for run_id in (first, second, other):
        assert live.wait_run(run_id)["Status"] == "Finished"
    s = schedules.create_schedule(live.svc, name="nightly", experiment_name="exp-a", published_pipeline_id=published,
                                  recurrence=ScheduleRecurrence("Day", 1, time_of_day="02:00"),
                                  pipeline_parameters={"tag": "from-schedule", "wait_for": "never.signal"})
    fired, _ = schedules.fire(live.svc, s, slot=clock.now(), fire_key="ui-test", trigger_tags={"trigger": "test"})

    sign_in(page, live.url, live.tokens["reader"])
    page.click("nav >> text=Experiments")
    assert page.url == f"{live.url}/experiments"
    row = page.locator("tr[data-name='exp-a']")
    expect(row.locator(".runs")).to_have_text("3")
    expect(row.locator(".last a")).to_have_attribute("href", f"/runs/{fired.id}")
    expect(page.locator("tr[data-name='exp-b'] .runs")).to_have_text("1")
    expect(page.locator("tr[data-name='exp-b'] .last .status")).to_have_text("Finished")
    page.fill("#q", "EXP-B")
    page.click(".filters button")
    expect(page.locator("table.experiments tbody tr")).to_have_count(1)

    page.goto(f"{live.url}/experiments")
    row.locator("a.name").click()
    assert page.url == f"{live.url}/experiments/exp-a"
    runs = page.locator("table.runs tbody tr")
    expect(runs).to_have_count(3)
    assert [runs.nth(i).get_attribute("data-run") for i in range(3)] == [fired.id, second, first]  # latest first
    scheduled = runs.nth(0)
    expect(scheduled.locator(".source")).to_have_text("Schedule")
    expect(scheduled.locator(f"a[href='/schedules/{s.id}']")).to_have_text("nightly")
    rest = runs.nth(1)
    expect(rest.locator(".source")).to_have_text("REST")
    expect(rest.locator(".status")).to_have_text("Finished")
    expect(rest.locator(f"a[href='/runs/{second}']")).to_be_visible()
    expect(rest.locator(f"a[href='/pipelines/{published}']")).to_have_text("echo")
    expect(rest.locator("td[data-label=Duration]")).not_to_have_text("–")
    page.select_option("#status", "Finished")
    page.click(".filters button")
    expect(runs).to_have_count(2)
    assert page.url == f"{live.url}/experiments/exp-a?status=Finished"
    page.select_option("#status", "Failed")
    page.click(".filters button")
    expect(page.locator(".empty")).to_have_text("No Failed runs.")


def test_runs_are_paged_fifty_at_a_time(page, live, published) -> None:
    template = live.svc.store.get_run(submit(live, published, "many", "seed"))
    live.wait_run(template.id)
    ids = []
    for i in range(1, 61):  # finished records: the agent has nothing to run
        record = dataclasses.replace(template, id=uuid.uuid4().hex, status=RunStatus.FINISHED,
                                     created_at=template.created_at + timedelta(seconds=i))
        live.svc.store.create_run(record, [])
        ids.append(record.id)
    newest_first = [*reversed(ids), template.id]
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/experiments")
    expect(page.locator("tr[data-name='many'] .runs")).to_have_text("61")  # counted by the store
    page.goto(f"{live.url}/experiments/many")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(50)
    assert [rows.nth(i).get_attribute("data-run") for i in (0, 49)] == [newest_first[0], newest_first[49]]
    page.click("text=Older runs →")
    expect(rows).to_have_count(11)
    assert [rows.nth(i).get_attribute("data-run") for i in range(11)] == newest_first[50:]
    assert page.locator("text=Older runs →").count() == 0
    page.click("text=← Newest")
    expect(rows).to_have_count(50)


def test_plain_http_details(live, published) -> None:
    live.wait_run(submit(live, published, "a/b c", "x"))
    with httpx.Client(base_url=live.url, follow_redirects=False, timeout=30) as c:
        assert c.get("/experiments").headers["location"] == "/signin?next=%2Fexperiments"
        c.get("/signin")
        c.post("/signin", data={"token": live.tokens["reader"], "csrf": c.cookies["headrace_signin_csrf"]})
        listing = c.get("/experiments")
        assert listing.status_code == 200 and 'href="/experiments/a/b%20c"' in listing.text
        found = c.get("/experiments/a/b%20c")
        assert found.status_code == 200 and "<h1>a/b c</h1>" in found.text
        missing = c.get("/experiments/nope")
        assert missing.status_code == 404 and "No experiment named" in missing.text
        bad = c.get("/experiments/a/b%20c", params={"before": "not-a-cursor"})
        assert bad.status_code == 400 and "not valid" in bad.text
        for i in range(25):  # 26 experiments in all: two pages of 25
            live.svc.store.get_or_create_experiment(f"zz-{i:02d}")
        first = c.get("/experiments")
        assert "Page 1 of 2" in first.text and "zz-23" in first.text and "zz-24" not in first.text
        second = c.get("/experiments", params={"page": "2"})
        assert "Page 2 of 2" in second.text and 'data-name="zz-24"' in second.text


def test_phone_width_experiment_pages_do_not_overflow(phone, live, published) -> None:
    live.wait_run(submit(live, published, "an-experiment-with-a-long-name-for-the-phone-layout", "p"))
    sign_in(phone, live.url, live.tokens["reader"])
    phone.goto(f"{live.url}/experiments")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.click("a.name")
    expect(phone.locator("table.runs tbody tr")).to_have_count(1)
    expect(phone.locator("td[data-label=Source]")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
