"""The runs list and the run page in a real browser (Debian's chromium via Playwright) against live uvicorn.

Runs are submitted through the REST API (``live.client``) and executed by the server's in-process
agent; the echo step of ``published`` waits for ``signals/<wait_for>`` when asked, which is how a
run is held in Running for the cancel and live-update tests.
"""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import Pipeline, PipelineData, PythonScriptStep, ScheduleRecurrence
from headrace.services import endpoints, schedules
from headrace.services import runs as run_service
from headrace.storage.records import EntityStatus, RunRecord, RunStatus, StepRunRecord, StepStatus


def submit(live, published: str, tag: str, n: int = 7, experiment: str = "ui-runs", wait_for: str = "none") -> str:
    r = live.client("submitter").post(f"/pipelines/{published}/submit", json={
        "ExperimentName": experiment, "Tags": {"owner": "tests"},
        "ParameterAssignments": {"pipeline_arg": n, "tag": tag, "wait_for": wait_for}})
    assert r.status_code == 200, r.text
    return r.json()["Id"]


def wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} did not appear within {timeout}s")
        time.sleep(0.05)


def session(live, role: str) -> tuple[httpx.Client, str]:
    """An httpx client signed in to the UI as ``role``, and the CSRF value its forms carry."""
    c = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    live.clients.append(c)
    c.get("/signin")
    r = c.post("/signin", data={"token": live.tokens[role], "csrf": c.cookies["headrace_signin_csrf"], "next": "/runs"})
    assert r.status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/runs").text).group(1)
    return c, csrf


def test_a_finished_run_end_to_end_and_resubmit(page, live, published) -> None:
    run_id = submit(live, published, "ui-one", n=7)
    sign_in(page, live.url, live.tokens["submitter"])
    page.goto(f"{live.url}/runs")
    row = page.locator(f"tr[data-id='{run_id}']")
    expect(row).to_contain_text("ui-runs")
    expect(row).to_contain_text("echo 1.0")  # the published pipeline, by name and version
    row.locator("a.run-link").click()
    assert page.url == f"{live.url}/runs/{run_id}"
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=30_000)  # the page follows the run
    expect(page.locator("#run-pipeline a")).to_have_attribute("href", f"/pipelines/{published}")
    params = page.locator("#run-parameters")
    expect(params.locator("tr", has_text="pipeline_arg")).to_contain_text("7")
    expect(params.locator("tr", has_text="input_data")).to_contain_text("workspaceblobstore:raw/data.csv")
    # The DAG box of the step says Finished (text, not only colour), and links to the step's section.
    box = page.locator("svg.dag [data-step='echo']")
    expect(box).to_contain_text("Finished")
    assert "dag-status-finished" in box.get_attribute("class")
    assert page.locator("svg.dag a.dag-link").first.get_attribute("href") == "#step-echo"
    expect(page.locator("svg.gantt g.bar-finished rect")).to_have_count(1)
    step = page.locator("#step-echo")
    expect(step.locator(".step-status")).to_have_text("Finished")
    expect(step.locator("table.metrics tr[data-metric='loss']")).to_contain_text("0.25")
    expect(step.locator("table.metrics tr[data-metric='loss'] td").nth(1)).to_have_text("2")
    assert step.locator("figure[data-metric='loss'] svg path").count() == 1  # a series: plotted
    assert step.locator("figure[data-metric='n']").count() == 0  # logged once: table only
    expect(page.locator("section[data-region='run-metrics'] tr[data-metric='pipeline_n']")).to_contain_text("7")
    # Logs open from the keyboard and load on opening.
    summary = step.locator("details[data-log='stdout'] summary")
    summary.focus()
    page.keyboard.press("Enter")
    stdout = step.locator("details[data-log='stdout'] pre")
    expect(stdout).to_contain_text("echo ui-one 7")
    assert stdout.get_attribute("tabindex") == "0"
    step.locator("details[data-log='stderr'] summary").click()
    expect(step.locator("details[data-log='stderr'] pre")).to_contain_text("echo stderr")
    # Resubmit: a new run with the same parameters, and the page says where it came from.
    page.click("#resubmit-run")
    page.wait_for_url(re.compile(rf"{live.url}/runs/(?!{run_id})[0-9a-f]+$"))
    new_id = page.url.rsplit("/", 1)[-1]
    assert new_id != run_id
    expect(page.locator("#run-parameters tr", has_text="pipeline_arg")).to_contain_text("7")
    expect(page.locator("#run-parameters tr", has_text="tag")).to_contain_text("ui-one")
    expect(page.locator(f"a[href='/runs/{run_id}']")).to_be_visible()
    body = live.wait_run(new_id)
    assert body["Status"] == "Finished"
    record = live.svc.store.get_run(new_id)
    assert record.published_pipeline_id == published and record.tags["owner"] == "tests"
    assert record.tags["headrace.resubmitted_from"] == run_id


def test_cancel_a_running_run_and_the_list_follows(page, live, published) -> None:
    run_id = submit(live, published, "ui-wait", wait_for="never-created")
    wait_for_file(live.signals / "ui-wait.started")
    sign_in(page, live.url, live.tokens["admin"])
    page.goto(f"{live.url}/runs")
    row = page.locator(f"tr[data-id='{run_id}']")
    expect(row).to_have_attribute("data-status", "Running")
    expect(page.locator("#runs-table .refresh-note")).to_contain_text("refreshes")
    page.goto(f"{live.url}/runs/{run_id}")
    expect(page.locator("#run-status")).to_have_text("Running")
    expect(page.locator("svg.dag [data-step='echo']")).to_contain_text("Running")
    page.click("#cancel-run")
    expect(page.locator("#run-status")).to_have_text("Canceled", timeout=30_000)
    expect(page.locator("#cancel-run")).to_have_count(0)
    expect(page.locator("#step-echo .step-status")).to_have_text("Canceled")
    assert live.svc.store.get_run(run_id).status is RunStatus.CANCELED


def test_the_list_refreshes_while_a_run_is_running(page, live, published) -> None:
    run_id = submit(live, published, "ui-list", wait_for="go-list")
    wait_for_file(live.signals / "ui-list.started")
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs")
    expect(page.locator(f"tr[data-id='{run_id}']")).to_have_attribute("data-status", "Running")
    page.evaluate("window.notReloaded = true")
    (live.signals / "go-list").write_text("go")
    expect(page.locator(f"tr[data-id='{run_id}'] .status")).to_have_text("Finished", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True  # refreshed in place, not reloaded
    expect(page.locator("#runs-table")).to_have_attribute("data-live", "0")


TAIL = r'''
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--dir"); p.add_argument("--out"); a = p.parse_args()

def wait(name):
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(a.dir, name)) and time.monotonic() < deadline:
        time.sleep(0.02)

print("first line", flush=True)
open(os.path.join(a.dir, "tail.started"), "w").close()
wait("tail-more")
print("second line", flush=True)
wait("tail-end")
os.makedirs(os.path.join(a.out, "sub"), exist_ok=True)
open(os.path.join(a.out, "result.txt"), "w").write("forty-two")
open(os.path.join(a.out, "sub", "more.txt"), "w").write("more")
print("done")
'''


def test_live_tail_of_a_running_step_and_output_download(page, live, write_scripts) -> None:
    scripts = write_scripts({"tail.py": TAIL}, name="tail")
    out = PipelineData("report")
    step = PythonScriptStep(name="tail", script_name="tail.py", source_directory=scripts, allow_reuse=False,
                            arguments=["--dir", str(live.signals), "--out", out], outputs=[out])
    run = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[step]), "ui-tail")
    wait_for_file(live.signals / "tail.started")
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run.id}")
    page.click("#step-tail details[data-log='stdout'] summary")
    pre = page.locator("#step-tail details[data-log='stdout'] pre")
    expect(pre).to_have_text("first line\n")
    expect(page.locator("#step-tail details[data-log='stdout'] .log-state")).to_contain_text("following the log")
    pre.evaluate("el => el.dataset.marker = 'same element'")
    (live.signals / "tail-more").write_text("go")
    expect(pre).to_have_text("first line\nsecond line\n", timeout=30_000)
    assert pre.get_attribute("data-marker") == "same element"  # appended in place
    (live.signals / "tail-end").write_text("go")
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=30_000)
    expect(pre).to_have_text("first line\nsecond line\ndone\n")
    link = page.locator("#step-tail .outputs a")
    expect(link).to_have_text("Download report")
    c, _ = session(live, "reader")
    r = c.get(link.get_attribute("href"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == ["result.txt", "sub/more.txt"]
        assert zf.read("result.txt") == b"forty-two"
    assert c.get(f"/runs/{run.id}/steps/tail/outputs/nope").status_code == 404
    full = c.get(f"/runs/{run.id}/steps/tail/logs/stdout")
    assert full.text == "first line\nsecond line\ndone\n"
    part = c.get(f"/runs/{run.id}/steps/tail/logs/stdout", params={"offset": 11})
    assert part.text == "second line\ndone\n" and part.headers["X-Log-Offset"] == str(len(full.text))
    assert part.headers["X-Step-Status"] == "Finished"


HELLO = r"""
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
print("hello from the producer")
open(os.path.join(a.out, "data.txt"), "w").write("x")
"""
FAIL = r"""
import sys
print("boom: the input is not good enough", file=sys.stderr)
sys.exit(3)
"""


def test_reused_and_failed_steps(page, live, write_scripts) -> None:
    scripts = write_scripts({"hello.py": HELLO, "fail.py": FAIL}, name="twostep")
    data = PipelineData("made")
    make = PythonScriptStep(name="make", script_name="hello.py", source_directory=scripts, allow_reuse=True,
                            arguments=["--out", data], outputs=[data])
    check = PythonScriptStep(name="check", script_name="fail.py", source_directory=scripts, allow_reuse=False,
                             arguments=[data], inputs=[data])
    first = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[make, check]), "ui-reuse")
    assert live.wait_run(first.id)["Status"] == "Failed"
    second = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[make, check]), "ui-reuse")
    assert live.wait_run(second.id)["Status"] == "Failed"
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{second.id}")
    expect(page.locator("#run-status")).to_have_text("Failed")
    made = page.locator("#step-make")
    expect(made.locator(".step-status")).to_have_text("Reused")
    expect(made.locator(".reused-from a")).to_have_attribute("href", f"/runs/{first.id}#step-make")
    expect(page.locator("svg.dag [data-step='make']")).to_contain_text("Reused")
    expect(page.locator("svg.gantt g.bar-reused")).to_have_count(1)
    made.locator("details[data-log='stdout'] summary").click()
    expect(made.locator("details[data-log='stdout'] pre")).to_contain_text("hello from the producer")
    failed = page.locator("#step-check")
    expect(failed.locator(".step-status")).to_have_text("Failed")
    expect(failed.locator(".facts")).to_contain_text("3")
    # A failed step's stderr is open from the start.
    expect(failed.locator("details[data-log='stderr'] pre")).to_contain_text("boom: the input is not good enough")
    expect(page.locator("section[data-region='summary'] .run-error")).to_be_visible()
    made.locator(".reused-from a").click()
    assert page.url == f"{live.url}/runs/{first.id}#step-make"
    expect(page.locator("#step-make .step-status")).to_have_text("Finished")


def test_a_reader_sees_no_actions_and_may_not_post(page, live, published) -> None:
    run_id = submit(live, published, "ui-reader", wait_for="never-created")
    wait_for_file(live.signals / "ui-reader.started")
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run_id}")
    expect(page.locator("#run-status")).to_have_text("Running")
    assert page.locator("#cancel-run").count() == 0 and page.locator("#resubmit-run").count() == 0
    reader, csrf = session(live, "reader")
    assert reader.post(f"/runs/{run_id}/cancel", data={"csrf": csrf}).status_code == 403
    assert reader.post(f"/runs/{run_id}/resubmit", data={"csrf": csrf}).status_code == 403
    submitter, good = session(live, "submitter")
    assert submitter.post(f"/runs/{run_id}/cancel", data={"csrf": "forged"}).status_code == 403
    assert submitter.post(f"/runs/{run_id}/cancel").status_code == 403
    assert live.svc.store.get_run(run_id).status is RunStatus.RUNNING  # nothing happened
    done = submitter.post(f"/runs/{run_id}/cancel", data={"csrf": good})
    assert done.status_code == 303 and done.headers["location"] == f"/runs/{run_id}"
    assert live.wait_run(run_id)["Status"] == "Canceled"
    missing = submitter.get("/runs/no-such-run")
    assert missing.status_code == 404 and "no-such-run" in missing.text
    assert submitter.post("/runs/no-such-run/cancel", data={"csrf": good}).status_code == 404
    assert submitter.get("/runs/no-such-run/steps/echo/logs/stdout").status_code == 404
    assert submitter.get(f"/runs/{run_id}/steps/nope/logs/stdout").status_code == 404
    with httpx.Client(base_url=live.url, follow_redirects=False) as anonymous:
        assert anonymous.get(f"/runs/{run_id}").headers["location"].startswith("/signin")


def test_resubmit_keeps_the_endpoint_version_and_reports_conflicts(live, published) -> None:
    ep = endpoints.publish_endpoint(live.svc, name="echo-ep", published_pipeline_id=published)
    r = live.client("submitter").post(f"/pipeline-endpoints/{ep.id}/submit", json={
        "ExperimentName": "ui-ep", "ParameterAssignments": {"tag": "ui-ep", "pipeline_arg": 3}})
    run_id = r.json()["Id"]
    live.wait_run(run_id)
    c, csrf = session(live, "submitter")
    again = c.post(f"/runs/{run_id}/resubmit", data={"csrf": csrf})
    assert again.status_code == 303
    new = live.svc.store.get_run(again.headers["location"].rsplit("/", 1)[-1])
    assert (new.pipeline_endpoint_id, new.pipeline_endpoint_version, new.published_pipeline_id) == (ep.id, "0", published)
    assert new.parameters == live.svc.store.get_run(run_id).parameters and new.run_source == "UI"
    page = c.get(f"/runs/{new.id}").text
    assert f'href="/endpoints/{ep.id}"' in page and f'href="/runs/{run_id}"' in page
    endpoints.set_status(live.svc, ep.id, EntityStatus.DISABLED)
    refused = c.post(f"/runs/{run_id}/resubmit", data={"csrf": csrf})
    assert refused.status_code == 409
    assert "Could not resubmit" in refused.text and "is disabled" in refused.text
    live.wait_run(new.id)


def test_a_scheduled_run_names_its_schedule_and_fire(live, published) -> None:
    sched = schedules.create_schedule(
        live.svc, name="nightly-echo", experiment_name="ui-sched", published_pipeline_id=published,
        recurrence=ScheduleRecurrence(frequency="Day", interval=1), pipeline_parameters={"tag": "ui-sched"},
        run_on_create=True)
    run_id = live.svc.store.get_schedule(sched.id).last_run_id
    live.wait_run(run_id)
    c, _ = session(live, "reader")
    html = c.get(f"/runs/{run_id}").text
    schedule_dd = re.search(r'<dd id="run-schedule">(.*?)</dd>', html, re.S).group(1)
    assert f'href="/schedules/{sched.id}"' in schedule_dd and "nightly-echo" in schedule_dd
    assert "fire for " in schedule_dd and "trigger: create" in schedule_dd
    listed = c.get(f"/runs?schedule_id={sched.id}").text
    assert f'data-id="{run_id}"' in listed and f'href="/schedules/{sched.id}">nightly-echo</a>' in listed


def seed_runs(live, published: str, count: int, experiment: str, status: RunStatus, start: datetime) -> list[str]:
    """Runs written straight to the store (no execution), one a minute from ``start``."""
    store = live.svc.store
    pipeline_id = store.get_published_pipeline(published).pipeline_id
    exp = store.get_or_create_experiment(experiment)
    ids = []
    for i in range(count):
        created = start + timedelta(minutes=i)
        run = RunRecord(id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name, pipeline_id=pipeline_id,
                        status=status, created_at=created, started_at=created, ended_at=created + timedelta(seconds=5),
                        parameters={"pipeline_arg": i}, published_pipeline_id=published)
        step = StepRunRecord(id=uuid.uuid4().hex, run_id=run.id, name="echo", status=StepStatus.FINISHED,
                             created_at=created)
        store.create_run(run, [step])
        ids.append(run.id)
    return ids


def test_filters_narrow_the_list(page, live, published) -> None:
    start = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    alpha = seed_runs(live, published, 3, "alpha", RunStatus.FINISHED, start)
    beta = seed_runs(live, published, 2, "beta", RunStatus.FAILED, start + timedelta(hours=1))
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(5)
    page.select_option("#f-experiment", "alpha")
    page.click(".run-filters button[type=submit]")
    expect(rows).to_have_count(3)
    assert {rows.nth(i).get_attribute("data-id") for i in range(3)} == set(alpha)
    page.select_option("#f-experiment", "")
    page.select_option("#f-status", "Failed")
    page.click(".run-filters button[type=submit]")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-id") for i in range(2)] == beta[::-1]  # newest first
    page.select_option("#f-experiment", "alpha")
    page.click(".run-filters button[type=submit]")
    expect(page.locator(".empty")).to_contain_text("No runs match these filters")
    page.click("text=Clear filters")
    expect(rows).to_have_count(5)
    # A time range (UTC, inclusive): 08:01 to 09:00 holds alpha's 2nd and 3rd runs and beta's 1st.
    page.fill("#f-from", "2026-01-10T08:01")
    page.fill("#f-to", "2026-01-10T09:00")
    page.click(".run-filters button[type=submit]")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).get_attribute("data-id") for i in range(3)] == [beta[0], alpha[2], alpha[1]]


def test_paging_and_time_range_over_http(live, published) -> None:
    start = datetime(2026, 2, 1, tzinfo=UTC)
    ids = seed_runs(live, published, 120, "many", RunStatus.FINISHED, start)[::-1]  # newest first
    c, _ = session(live, "reader")

    def page_ids(url: str) -> tuple[list[str], str]:
        r = c.get(url)
        assert r.status_code == 200
        return re.findall(r'<tr data-id="([0-9a-f]+)"', r.text), r.text

    def link(text: str, rel: str) -> str | None:
        found = re.search(rf'<a rel="{rel}" href="([^"]+)"', text)
        return found.group(1).replace("&amp;", "&") if found else None

    first, html = page_ids("/runs?experiment=many")
    assert first == ids[:50] and link(html, "prev") is None
    second, html2 = page_ids(link(html, "next"))
    assert second == ids[50:100] and "Page 2" in html2
    third, html3 = page_ids(link(html2, "next"))
    assert third == ids[100:] and link(html3, "next") is None
    back, _ = page_ids(link(html3, "prev"))
    assert back == second
    again, _ = page_ids(link(html2, "prev"))
    assert again == first
    # "Created to" starts the list at that time; "from" ends it.
    to = (start + timedelta(minutes=99)).strftime("%Y-%m-%dT%H:%M")
    since = (start + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M")
    ranged, html = page_ids(f"/runs?experiment=many&created_to={to}&created_from={since}")
    assert ranged == ids[20:70]
    rest, _ = page_ids(link(html, "next"))
    assert rest == ids[70:80]
    by_pipeline, _ = page_ids(f"/runs?published_pipeline_id={published}&experiment=many")
    assert by_pipeline == ids[:50]
    assert page_ids("/runs?pipeline_endpoint_id=no-such-endpoint")[0] == []
    assert page_ids("/runs?schedule_id=no-such-schedule")[0] == []
    bad = c.get("/runs?created_from=yesterday")
    assert bad.status_code == 400 and "not a date and time" in bad.text
    assert c.get("/runs?cursor=garbage").status_code == 400
    assert c.get("/runs?status=Sleeping").status_code == 400
    fragment = c.get("/runs?experiment=many&fragment=rows")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count("<tr data-id=") == 50


def test_pages_fit_a_phone(phone, live, published) -> None:
    run_id = submit(live, published, "ui-phone")
    live.wait_run(run_id)
    sign_in(phone, live.url, live.tokens["reader"])
    for path in ("/runs", f"/runs/{run_id}"):
        phone.goto(f"{live.url}{path}")
        expect(phone.locator("main h1")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px screen"
    expect(phone.locator("#run-status")).to_have_text("Finished")
