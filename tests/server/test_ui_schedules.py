"""The schedules pages in a real browser (Debian's chromium via Playwright) against live uvicorn.

Schedules are created through ``headrace.services.schedules`` on the ``published`` echo pipeline.
The live server runs no scheduler: evaluations are driven by hand with ``Scheduler.run_pending()``
under a fixed clock (``headrace.clock.set_clock``), so nothing waits for real time to pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import ScheduleRecurrence, clock
from headrace.server.ui.session import csrf_for
from headrace.services import datastores, endpoints, schedules
from headrace.services.scheduler import Scheduler
from headrace.storage.records import EntityStatus, TickOutcome

WEEKLY = "Every 2 weeks on Monday and Wednesday at 18:30 from 2026-01-05 00:00, Europe/Paris"


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Every ``clock.now()`` in this process (services, scheduler) answers ``moment`` meanwhile."""
    clock.set_clock(lambda: moment)
    try:
        yield
    finally:
        clock.set_clock(None)


def weekly(live, published: str, name: str = "weekly"):
    rec = ScheduleRecurrence("Week", 2, week_days=["Monday", "Wednesday"], time_of_day="18:30",
                             start_time=datetime(2026, 1, 5), time_zone="Europe/Paris")
    return schedules.create_schedule(live.svc, name=name, experiment_name="ui-sched", published_pipeline_id=published,
                                     recurrence=rec, pipeline_parameters={"pipeline_arg": 7})


@pytest.fixture
def incoming(live):
    datastores.get_datastore(live.svc, "workspaceblobstore").write_bytes("incoming/old.csv", b"a\n1\n")
    return live.svc.home / "datastores" / "workspaceblobstore" / "incoming"


def reactive(live, published: str, name: str = "watch"):
    return schedules.create_schedule(live.svc, name=name, experiment_name="ui-sched", published_pipeline_id=published,
                                     datastore="workspaceblobstore", path_on_datastore="incoming",
                                     polling_interval=5, data_path_parameter_name="input_data")


def ui_session(live, role: str) -> httpx.Client:
    """An httpx client signed in to the UI (session cookie) as ``role``."""
    c = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    live.clients.append(c)
    c.get("/signin")
    r = c.post("/signin", data={"token": live.tokens[role], "csrf": c.cookies["headrace_signin_csrf"], "next": "/"})
    assert r.status_code == 303
    return c


def test_list_shows_trigger_target_next_run_and_last_fire(page, live, published, incoming) -> None:
    time_sched = weekly(live, published)
    watch = reactive(live, published)
    sign_in(page, live.url, live.tokens["reader"])
    page.click("nav >> text=Schedules")
    assert page.url == f"{live.url}/schedules"
    row = page.locator(f"tr[data-id='{time_sched.id}']")
    expect(row.locator(".trigger")).to_have_text(WEEKLY)
    expect(row.locator(".target a")).to_have_attribute("href", f"/pipelines/{published}")
    expect(row.locator(".target a")).to_have_text("echo")
    next_paris = time_sched.next_fire_at.astimezone(ZoneInfo("Europe/Paris"))
    assert next_paris.strftime("%H:%M") == "18:30" and next_paris.weekday() in (0, 2)
    moment = row.locator(".next time")
    assert datetime.fromisoformat(moment.get_attribute("datetime")) == time_sched.next_fire_at
    expect(moment).to_have_attribute("data-local", "1")  # the script rewrote it in the viewer's zone
    assert moment.get_attribute("title") == time_sched.next_fire_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    expect(row.locator(".next .zone")).to_have_text(f"{next_paris:%Y-%m-%d %H:%M:%S} Europe/Paris")
    expect(row.locator(".last")).to_have_text("never")
    expect(row.locator(".status")).to_have_text("Active")
    watch_row = page.locator(f"tr[data-id='{watch.id}']")
    expect(watch_row.locator(".trigger")).to_have_text(
        "When a file is added or changed in workspaceblobstore/incoming, every 5 min")
    # A reader sees no enable/disable buttons.
    assert page.locator("table.schedules form").count() == 0
    assert page.get_by_role("button", name="Disable").count() == 0
    # Filters: by name, by status, by target.
    page.fill("#q", "WAT")
    page.click(".filters button")
    expect(page.locator("table.schedules tbody tr")).to_have_count(1)
    expect(page.locator("table.schedules tbody tr .name")).to_have_text("watch")
    page.goto(f"{live.url}/schedules?status=disabled")
    expect(page.locator(".empty")).to_contain_text("No disabled schedules")
    page.goto(f"{live.url}/schedules?target=nothing-of-the-kind")
    expect(page.locator("table.schedules tbody tr")).to_have_count(2)


def test_endpoint_target_and_target_filter(page, live, published) -> None:
    ep = endpoints.publish_endpoint(live.svc, name="echo-endpoint", published_pipeline_id=published)
    on_ep = schedules.create_schedule(live.svc, name="on-endpoint", experiment_name="ui-sched",
                                      pipeline_endpoint_id=ep.id, cron="0 2 * * 1-5", time_zone="America/New_York")
    weekly(live, published)
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/schedules")
    page.select_option("#target", label="echo-endpoint")
    page.click(".filters button")
    rows = page.locator("table.schedules tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator(".target a")).to_have_attribute("href", f"/endpoints/{ep.id}")
    expect(rows.locator(".trigger")).to_have_text("Cron '0 2 * * 1-5', America/New_York")
    expect(rows.locator(".next .zone")).to_contain_text("02:00:00 America/New_York")
    assert rows.get_attribute("data-id") == on_ep.id


def test_an_admin_disables_and_enables_from_the_list(page, live, published) -> None:
    s = weekly(live, published)
    other = weekly(live, published, name="other")
    sign_in(page, live.url, live.tokens["admin"])
    page.goto(f"{live.url}/schedules?q=weekly")
    row = page.locator(f"tr[data-id='{s.id}']")
    row.get_by_role("button", name="Disable schedule weekly").click()
    expect(row.locator(".status")).to_have_text("Disabled")
    assert page.url == f"{live.url}/schedules?q=weekly"  # back on the page it came from, filters kept
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.DISABLED
    assert live.svc.store.get_schedule(other.id).status is EntityStatus.ACTIVE
    expect(row.locator(".next")).to_contain_text("none while disabled")
    row.get_by_role("button", name="Enable schedule weekly").click()
    expect(row.locator(".status")).to_have_text("Active")
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.ACTIVE
    # The same from the schedule's own page, with the keyboard.
    page.goto(f"{live.url}/schedules/{s.id}")
    page.get_by_role("button", name="Disable").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1 .status")).to_have_text("Disabled")
    assert page.url == f"{live.url}/schedules/{s.id}"
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.DISABLED


def test_readers_and_submitters_get_403_posting_and_forms_need_csrf(live, published) -> None:
    s = weekly(live, published)
    reader = ui_session(live, "reader")
    html = reader.get("/schedules").text
    assert "/disable" not in html and "/enable" not in html
    # Schedules are work the server starts on its own: changing them is an admin's call.
    submitter = ui_session(live, "submitter")
    assert "/disable" not in submitter.get("/schedules").text
    assert "/disable" not in submitter.get(f"/schedules/{s.id}").text
    refused = submitter.post(f"/schedules/{s.id}/disable", data={"csrf": csrf_for(live.tokens["submitter"])})
    assert refused.status_code == 403 and "admin role" in refused.text
    # Without JavaScript the page still says when, in UTC and in the schedule's zone.
    paris = s.next_fire_at.astimezone(ZoneInfo("Europe/Paris"))
    assert s.next_fire_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") in html
    assert f"{paris:%Y-%m-%d %H:%M:%S} Europe/Paris" in html
    refused = reader.post(f"/schedules/{s.id}/disable", data={"csrf": csrf_for(live.tokens["reader"])})
    assert refused.status_code == 403 and "admin" in refused.text
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.ACTIVE
    admin = ui_session(live, "admin")
    assert admin.post(f"/schedules/{s.id}/disable", data={"csrf": "forged"}).status_code == 403
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.ACTIVE
    with httpx.Client(base_url=live.url, follow_redirects=False) as anonymous:
        assert anonymous.post(f"/schedules/{s.id}/disable", data={"csrf": "x"}).status_code == 403
        assert anonymous.get(f"/schedules/{s.id}").headers["location"] == f"/signin?next=%2Fschedules%2F{s.id}"
    csrf = csrf_for(live.tokens["admin"])
    # A foreign "next" never turns the form into an open redirect.
    ok = admin.post(f"/schedules/{s.id}/disable", data={"csrf": csrf, "next": "//evil.example/x"})
    assert ok.status_code == 303 and ok.headers["location"] == f"/schedules/{s.id}"
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.DISABLED
    missing = admin.post("/schedules/no-such-id/enable", data={"csrf": csrf})
    assert missing.status_code == 404 and "no-such-id" in missing.text
    page404 = reader.get("/schedules/no-such-id")
    assert page404.status_code == 404 and "No schedule with id" in page404.text


def test_schedule_page_shows_parameters_next_runs_ticks_and_runs(page, live, published) -> None:
    s = schedules.create_schedule(live.svc, name="every-minute", experiment_name="ui-sched",
                                  published_pipeline_id=published, recurrence=ScheduleRecurrence("Minute", 1),
                                  pipeline_parameters={"tag": "@formatDateTime(trigger().scheduledTime, 'HHmm')"})
    scheduler = Scheduler(live.svc)
    first = s.next_fire_at
    with clock_at(first + timedelta(seconds=1)):
        on_time = scheduler.run_pending()
    with clock_at(first + timedelta(minutes=10, seconds=1)):  # the tenth slot is on time and fires; the nine before were missed
        later = scheduler.run_pending()
    assert len(on_time.runs) == 1 and len(later.runs) == 1
    ticks = live.svc.store.list_schedule_ticks(s.id)
    assert [t.outcome for t in ticks] == [TickOutcome.FIRED, TickOutcome.FIRED]
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/schedules")
    page.click(f"tr[data-id='{s.id}'] a.name")
    assert page.url == f"{live.url}/schedules/{s.id}"
    expect(page.locator("h1")).to_contain_text("every-minute")
    expect(page.locator(".facts")).to_contain_text("Every minute")
    expect(page.locator(".facts")).to_contain_text("latest: one catch-up run")
    params = page.locator("section[aria-labelledby=params] tbody tr")
    expect(params).to_have_count(1)
    expect(params).to_contain_text("@formatDateTime(trigger().scheduledTime, 'HHmm')")
    expect(params).to_contain_text("expression, evaluated at each fire")
    upcoming = page.locator(".upcoming time")
    expect(upcoming).to_have_count(5)
    times = [datetime.fromisoformat(upcoming.nth(i).get_attribute("datetime")) for i in range(5)]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(minutes=1)] * 4
    rows = page.locator("table.ticks tbody tr")
    expect(rows).to_have_count(2)
    newest = rows.nth(0)
    expect(newest.locator(".outcome")).to_have_text("fired")
    expect(newest).to_contain_text("skipped 9 missed slot(s) (misfire=latest)")
    expect(newest.locator("a")).to_have_attribute("href", f"/runs/{later.runs[0]}")
    expect(rows.nth(1).locator("a")).to_have_attribute("href", f"/runs/{on_time.runs[0]}")
    oldest = [datetime.fromisoformat(rows.nth(1).locator("time").nth(i).get_attribute("datetime")) for i in range(4)]
    assert oldest[1:] == [first, first, first + timedelta(minutes=1)]  # slot, next slot before and after
    runs = page.locator("section[aria-labelledby=runs] tbody tr")
    expect(runs).to_have_count(2)
    assert [runs.nth(i).get_attribute("data-run") for i in range(2)] == [later.runs[0], on_time.runs[0]]
    expect(page.locator(f"a[href='/runs?schedule_id={s.id}']")).to_be_visible()
    last = page.locator(".facts a[href^='/runs/']")
    expect(last).to_have_attribute("href", f"/runs/{later.runs[0]}")
    assert page.get_by_role("button", name="Disable").count() == 0  # reader


def test_reactive_schedule_page_describes_the_watch_and_pages_its_ticks(page, live, published, incoming) -> None:
    s = reactive(live, published)
    scheduler = Scheduler(live.svc)
    moment = s.next_fire_at
    for _ in range(26):  # nothing new in the folder: skipped ticks, no runs
        with clock_at(moment):
            assert scheduler.run_pending().runs == []
        moment += timedelta(minutes=5)
    (incoming / "new.csv").write_text("a\n2\n")
    with clock_at(moment):
        [run_id] = scheduler.run_pending().runs
    sign_in(page, live.url, live.tokens["submitter"])
    page.goto(f"{live.url}/schedules/{s.id}")
    expect(page.locator(".facts")).to_contain_text(
        "When a file is added or changed in workspaceblobstore/incoming, every 5 min")
    expect(page.locator(".facts")).to_contain_text("parameter input_data")
    expect(page.locator("#upcoming")).to_have_text("Next polls")
    rows = page.locator("table.ticks tbody tr")
    expect(rows).to_have_count(25)
    fired = rows.nth(0)
    expect(fired.locator(".outcome")).to_have_text("fired")
    expect(fired.locator("a")).to_have_attribute("href", f"/runs/{run_id}")
    expect(fired).to_contain_text("rev 0, 1 file(s) → rev 1, 2 file(s)")
    expect(rows.nth(1).locator(".outcome")).to_have_text("skipped")
    expect(rows.nth(1)).to_contain_text("no new or changed file among 1")
    page.click("text=Older →")
    assert page.url.endswith(f"/schedules/{s.id}?ticks=2#ticks")
    expect(rows).to_have_count(2)
    expect(page.locator("text=← Newer")).to_be_visible()
    assert page.locator("text=Older →").count() == 0
    page.goto(f"{live.url}/schedules/{s.id}?ticks=9")
    expect(page.locator("section[aria-labelledby=ticks] .empty")).to_contain_text("No older evaluations")


def test_enabling_a_watch_whose_folder_became_a_file_shows_why(page, live, published, incoming) -> None:
    # A folder that vanished may be watched (it fires once it is back); a file is not a folder.
    s = reactive(live, published)
    schedules.set_status(live.svc, s.id, EntityStatus.DISABLED)
    for f in incoming.iterdir():
        f.unlink()
    incoming.rmdir()
    incoming.write_text("now a file")
    sign_in(page, live.url, live.tokens["admin"])
    page.goto(f"{live.url}/schedules/{s.id}")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator(".error")).to_contain_text("Could not enable the schedule")
    expect(page.locator(".error")).to_contain_text("incoming")
    assert live.svc.store.get_schedule(s.id).status is EntityStatus.DISABLED


def test_times_follow_the_browser_zone(browser, live, published) -> None:
    s = weekly(live, published)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    try:
        tokyo = context.new_page()
        sign_in(tokyo, live.url, live.tokens["reader"])
        tokyo.goto(f"{live.url}/schedules")
        moment = tokyo.locator(f"tr[data-id='{s.id}'] .next time")
        expect(moment).to_have_attribute("data-local", "1")
        local = s.next_fire_at.astimezone(ZoneInfo("Asia/Tokyo"))
        expect(moment).to_contain_text(local.strftime("%H:%M:%S"))
        expect(moment).to_contain_text("GMT+9")
    finally:
        context.close()


def test_phone_width_list_and_page_do_not_overflow(phone, live, published, incoming) -> None:
    ep = endpoints.publish_endpoint(live.svc, name="an-endpoint-with-a-rather-long-name-indeed",
                                    published_pipeline_id=published)
    weekly(live, published)
    reactive(live, published)
    s = schedules.create_schedule(live.svc, name="a-schedule-with-a-long-name-that-could-push-the-layout-sideways",
                                  experiment_name="ui-sched", pipeline_endpoint_id=ep.id,
                                  recurrence=ScheduleRecurrence("Day", 1, hours=[1, 5, 9, 13, 17, 21],
                                                                minutes=[0, 15, 30, 45], time_zone="Australia/Sydney"))
    sign_in(phone, live.url, live.tokens["admin"])
    phone.goto(f"{live.url}/schedules")
    expect(phone.locator("table.schedules tbody tr")).to_have_count(3)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    row = phone.locator(f"tr[data-id='{s.id}']")
    expect(row.locator(".target a")).to_be_visible()  # no column is hidden at phone width
    expect(row.locator(".trigger")).to_be_visible()
    button = row.get_by_role("button", name=f"Disable schedule {s.name}")
    expect(button).to_be_visible()
    button.click()
    expect(row.locator(".status")).to_have_text("Disabled")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.goto(f"{live.url}/schedules/{s.id}")
    expect(phone.locator("h1")).to_contain_text(s.name)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
