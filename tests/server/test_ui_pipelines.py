"""The published pipeline and endpoint pages in a real browser (Debian's chromium), against live uvicorn.

The ``published`` pipeline is one ``echo`` step whose script writes what it received to
``signals/<tag>.json``, so a submission from the page is checked against what the step really saw.
"""

from __future__ import annotations

import html as html_lib
import os
import re
import subprocess
import sys

import httpx
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace.server.ui.session import SESSION_COOKIE, csrf_for
from headrace.services import datastores, endpoints, publishing, schedules


def ui_client(live, role: str) -> httpx.Client:
    """Plain HTTP with the session cookie of ``role`` (what the browser holds after signing in)."""
    client = httpx.Client(base_url=live.url, cookies={SESSION_COOKIE: live.tokens[role]}, follow_redirects=False,
                          timeout=30)
    live.clients.append(client)
    return client


def form(live, role: str, **values: str) -> dict[str, str]:
    """A submit form as the page fills it (the echo pipeline's defaults), with ``values`` changed."""
    body = {"csrf": csrf_for(live.tokens[role]), "experiment_name": "ui-exp", "p:pipeline_arg": "10",
            "p:tag": "default", "p:wait_for": "none", "ds:input_data": "workspaceblobstore",
            "path:input_data": "raw/data.csv"}
    body.update(values)
    return body


def test_open_a_published_pipeline_from_the_list(page, live, published) -> None:
    sign_in(page, live.url, live.tokens["reader"])
    page.click(f"tr[data-id='{published}'] a")
    page.wait_for_url(f"{live.url}/pipelines/{published}")
    assert page.locator("h1").inner_text() == "echo"
    assert page.locator("svg.dag g.dag-step").count() == 1
    assert page.locator("svg.dag g.dag-step").get_attribute("data-step") == "echo"
    assert page.locator("svg.dag").get_attribute("aria-labelledby")
    rows = {r.get_attribute("data-name"): r.inner_text().split("\t")[1:]
            for r in page.locator("#parameter-table tbody tr").all()}
    assert rows["pipeline_arg"] == ["int", "10"]
    assert rows["use_flag"] == ["bool", "false"]
    assert rows["tag"] == ["str", "default"]
    assert rows["input_data"] == ["DataPath", "workspaceblobstore:raw/data.csv"]
    assert "Parameter" in page.locator("#data-table").inner_text()
    url = f"{live.url}/api/v1/pipelines/{published}/submit"
    assert url in page.locator("#rest-url").inner_text()
    curl = page.locator("#snippet-curl").inner_text()
    assert url in curl and '"ExperimentName": "echo"' in curl and '"DataStoreName": "workspaceblobstore"' in curl
    page.click("button[data-copy='snippet-curl']")
    expect(page.locator(".copy-status")).to_have_text(re.compile(r"\S"))  # waits: the copy is asynchronous
    assert page.locator("#submit").count() == 0  # a reader gets no form
    assert page.locator(".pl-toggle").count() == 0


def test_the_snippets_really_submit(live, published) -> None:
    c = ui_client(live, "reader")
    html = c.get(f"/pipelines/{published}").text
    env = {**os.environ, "HEADRACE_TOKEN": live.tokens["submitter"]}

    def snippet(key: str) -> str:
        match = re.search(rf'<pre id="snippet-{key}"[^>]*><code>(.*?)</code></pre>', html, re.S)
        assert match, key
        return html_lib.unescape(match.group(1))

    out = subprocess.run(["bash", "-c", snippet("curl")], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    run_id = httpx.Response(200, content=out.stdout).json()["Id"]
    out = subprocess.run([sys.executable, "-c", snippet("python")], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    second = out.stdout.strip()
    out = subprocess.run([sys.executable, "-c", snippet("sdk")], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    runs = live.svc.store.list_runs(published_pipeline_id=published, limit=10)[0]
    assert {run_id, second} <= {r.id for r in runs} and len(runs) == 3
    assert all(r.experiment_name == "echo" and r.parameters["pipeline_arg"] == 10 for r in runs)


def test_a_submitter_submits_with_changed_values(page, live, published) -> None:
    datastores.get_datastore(live.svc, "workspaceblobstore").write_bytes("raw/other.csv", b"x\n9\n")
    sign_in(page, live.url, live.tokens["submitter"])
    page.goto(f"{live.url}/pipelines/{published}")
    assert page.locator(".pl-toggle").count() == 0  # enabling/disabling is for admins
    options = page.locator("#submit datalist option")
    assert "raw/data.csv" in [o.get_attribute("value") for o in options.all()]
    assert page.locator("input[name='p:pipeline_arg']").get_attribute("step") == "1"
    assert page.locator("input[name='p:pipeline_arg']").input_value() == "10"
    page.fill("#experiment_name", "from-the-ui")
    page.fill("input[name='p:pipeline_arg']", "42")
    page.fill("input[name='p:tag']", "ui-submit")
    page.check("input[name='p:use_flag']")
    page.fill("input[name='path:input_data']", "raw/other.csv")
    page.click("#submit button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(live.url)}/runs/\w+$"))
    run_id = page.url.rsplit("/", 1)[1]
    run = live.svc.store.get_run(run_id)
    assert run.parameters["pipeline_arg"] == 42 and run.parameters["use_flag"] is True
    assert run.parameters["input_data"] == {"datastore": "workspaceblobstore", "path": "raw/other.csv"}
    assert (run.experiment_name, run.published_pipeline_id, run.run_source) == ("from-the-ui", published, "UI")
    seen = live.seen("ui-submit")
    assert seen["n"] == 42 and seen["content"] == "x\n9\n"
    page.goto(f"{live.url}/pipelines/{published}")
    assert run_id[:12] in page.locator("#run-table").inner_text()


def test_a_bad_value_shows_the_form_again_naming_the_field(page, live, published) -> None:
    sign_in(page, live.url, live.tokens["submitter"])
    page.goto(f"{live.url}/pipelines/{published}")
    page.eval_on_selector("form.submit-form", "f => f.noValidate = true")  # past the browser's own check
    page.fill("input[name='p:pipeline_arg']", "1.5")
    page.fill("input[name='p:tag']", "kept")
    with page.expect_navigation() as nav:
        page.click("#submit button[type=submit]")
    assert nav.value.status == 400
    assert "pipeline_arg" in page.locator("#submit-error").inner_text()
    assert page.locator("input[name='p:pipeline_arg']").get_attribute("aria-invalid") == "true"
    assert page.locator("input[name='p:pipeline_arg']").input_value() == "1.5"
    assert page.locator("input[name='p:tag']").input_value() == "kept"
    assert live.svc.store.list_runs(published_pipeline_id=published)[0] == []
    c = ui_client(live, "submitter")
    refused = c.post(f"/pipelines/{published}/submit", data=form(live, "submitter", **{"p:pipeline_arg": "abc"}))
    assert refused.status_code == 400 and "pipeline_arg" in refused.text and 'value="abc"' in refused.text
    refused = c.post(f"/pipelines/{published}/submit", data=form(live, "submitter", experiment_name=" "))
    assert refused.status_code == 400 and "experiment name" in refused.text
    refused = c.post(f"/pipelines/{published}/submit", data=form(live, "submitter", **{"ds:input_data": "nope"}))
    assert refused.status_code == 400 and "input_data" in refused.text


def test_roles_are_enforced_on_posts(live, published) -> None:
    reader, submitter, admin = ui_client(live, "reader"), ui_client(live, "submitter"), ui_client(live, "admin")
    page = reader.get(f"/pipelines/{published}")
    assert page.status_code == 200 and "Submit run" not in page.text and "/disable" not in page.text
    assert reader.post(f"/pipelines/{published}/submit", data=form(live, "reader")).status_code == 403
    assert reader.post(f"/pipelines/{published}/disable", data={"csrf": csrf_for(live.tokens["reader"])}).status_code == 403
    assert submitter.post(f"/pipelines/{published}/disable",
                          data={"csrf": csrf_for(live.tokens["submitter"])}).status_code == 403
    assert admin.post(f"/pipelines/{published}/disable", data={"csrf": "forged"}).status_code == 403
    with httpx.Client(base_url=live.url, follow_redirects=False) as anonymous:
        assert anonymous.post(f"/pipelines/{published}/submit", data=form(live, "admin")).status_code == 403
        assert anonymous.get(f"/pipelines/{published}").headers["location"].startswith("/signin")
    assert live.svc.store.list_runs(published_pipeline_id=published)[0] == []
    assert live.svc.store.get_published_pipeline(published).status.value == "Active"
    assert reader.get("/pipelines/no-such-id").status_code == 404
    assert reader.get("/endpoints/no-such-id").status_code == 404


def test_disabling_is_blocked_by_an_active_schedule(page, live, published) -> None:
    schedule = schedules.create_schedule(live.svc, name="nightly-echo", experiment_name="nightly",
                                         published_pipeline_id=published, cron="0 3 * * *")
    sign_in(page, live.url, live.tokens["admin"])
    page.goto(f"{live.url}/pipelines/{published}")
    assert page.locator("#schedule-table a").inner_text() == "nightly-echo"
    assert page.locator("#schedule-table a").get_attribute("href") == f"/schedules/{schedule.id}"
    assert "3:00" in page.locator("#schedule-table").inner_text() or "03:00" in page.locator("#schedule-table").inner_text()
    with page.expect_navigation() as nav:
        page.click(".pl-toggle button")
    assert nav.value.status == 409
    assert "nightly-echo" in page.locator("#status-error").inner_text()
    assert page.locator("#pl-status").inner_text().endswith("Active")
    schedules.set_status(live.svc, schedule.id, "Disabled")
    page.goto(f"{live.url}/pipelines/{published}")
    page.click(".pl-toggle button")
    page.wait_for_url(f"{live.url}/pipelines/{published}")
    assert page.locator("#pl-status").inner_text().endswith("Disabled")
    assert "enable it to submit" in page.locator("#submit").inner_text()
    page.click(".pl-toggle button")
    assert page.locator("#pl-status").inner_text().endswith("Active")
    assert page.locator("#submit form").count() == 1


def test_an_endpoint_page_shows_versions_and_submits_the_chosen_one(page, live, published, echo_pipeline) -> None:
    ep = endpoints.publish_endpoint(live.svc, name="echo-endpoint", published_pipeline_id=published,
                                    description="stable URL")
    v1 = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=20), name="echo", version="2.0")
    endpoints.add_version(live.svc, ep.id, v1.id, make_default=False)
    sign_in(page, live.url, live.tokens["submitter"])
    page.click(f"tr[data-id='{ep.id}'] a")
    page.wait_for_url(f"{live.url}/endpoints/{ep.id}")
    assert page.locator("h1").inner_text() == "echo-endpoint"
    default_row = page.locator("#version-table tr[data-version='0']")
    assert "★ default" in default_row.inner_text()
    assert default_row.locator("a").first.get_attribute("href") == f"/pipelines/{published}"
    assert "default" not in page.locator("#version-table tr[data-version='1'] td").first.inner_text()
    assert f"{live.url}/api/v1/pipeline-endpoints/{ep.id}/submit" in page.locator("#snippet-curl").inner_text()
    assert "PipelineEndpoint.get(ws" in page.locator("#snippet-sdk").text_content()
    page.click("#version-table tr[data-version='1'] a:text('Show')")
    page.wait_for_url(re.compile(r"version=1"))
    assert page.locator("input[name='p:pipeline_arg']").input_value() == "20"
    assert "?pipelineVersion=1" in page.locator("#rest-url").inner_text()
    assert "pipeline_version='1'" in page.locator("#snippet-sdk").text_content()
    page.fill("input[name='p:tag']", "endpoint-v1")
    page.click("#submit button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(live.url)}/runs/\w+$"))
    run = live.svc.store.get_run(page.url.rsplit("/", 1)[1])
    assert (run.pipeline_endpoint_id, run.pipeline_endpoint_version, run.published_pipeline_id) == (ep.id, "1", v1.id)
    assert live.seen("endpoint-v1")["n"] == 20
    by_name = ui_client(live, "reader").get("/endpoints/echo-endpoint")
    assert by_name.status_code == 200 and ep.id in by_name.text


def test_the_page_fits_a_phone(phone, live, published) -> None:
    sign_in(phone, live.url, live.tokens["admin"])
    phone.goto(f"{live.url}/pipelines/{published}")
    assert phone.locator("svg.dag g.dag-step").count() == 1
    width = phone.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 392  # wide tables and the graph scroll inside their own boxes
    assert phone.locator("#parameter-table th").nth(1).is_visible()  # the Type column stays
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.className") == "skip"


def test_a_repeated_post_makes_one_run_and_a_changed_one_another(live, published) -> None:
    c = ui_client(live, "submitter")
    body = form(live, "submitter", idempotency_key="page-nonce", **{"p:tag": "twice"})
    first, again = (c.post(f"/pipelines/{published}/submit", data=body) for _ in range(2))
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    changed = c.post(f"/pipelines/{published}/submit", data={**body, "p:pipeline_arg": "11"})
    assert changed.status_code == 303 and changed.headers["location"] != first.headers["location"]
    runs = live.svc.store.list_runs(published_pipeline_id=published)[0]
    assert sorted(r.parameters["pipeline_arg"] for r in runs) == [10, 11]
