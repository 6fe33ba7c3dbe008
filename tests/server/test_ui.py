"""The web UI in a real browser: Debian's chromium driven by Playwright, against live uvicorn.

Chromium comes from apt (``scripts/test.sh`` installs it); Playwright never downloads a browser.
Without chromium these tests skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import httpx
from ui_browser import sign_in

from headrace.services import endpoints


def test_sign_in_lists_published_pipelines_and_endpoints(page, live, published) -> None:
    endpoints.publish_endpoint(live.svc, name="echo-endpoint", published_pipeline_id=published, description="stable URL")
    sign_in(page, live.url, live.tokens["reader"])
    assert page.url == f"{live.url}/"
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2
    assert page.locator(f"tr[data-id='{published}'] .name").inner_text() == "echo"
    assert "echo-endpoint" in page.locator("table.list").inner_text()
    assert "reader" in page.locator(".who").inner_text()
    page.fill("#q", "endpoint")
    page.click(".filters button")
    assert page.locator("table.list tbody tr").count() == 1
    page.fill("#q", "no such thing")
    page.click(".filters button")
    assert "No active pipeline endpoints" in page.locator(".empty").inner_text()
    page.click(".who button")
    assert page.url.startswith(f"{live.url}/signin")
    page.goto(f"{live.url}/")
    assert page.url.startswith(f"{live.url}/signin")  # signed out for real


def test_a_wrong_token_is_refused(page, live) -> None:
    sign_in(page, live.url, "not-a-token")
    assert page.locator(".error").inner_text() == "Unknown or revoked token."
    page.goto(f"{live.url}/")
    assert page.url.startswith(f"{live.url}/signin")


def test_session_cookie_flags_and_csrf(live) -> None:
    with httpx.Client(base_url=live.url, follow_redirects=False) as c:
        assert c.get("/").headers["location"].startswith("/signin")
        c.get("/signin")
        refused = c.post("/signin", data={"token": live.tokens["admin"], "csrf": "forged"})
        assert refused.status_code == 401 and "headrace_session" not in refused.cookies
        csrf = c.cookies["headrace_signin_csrf"]  # the refused form handed out a fresh one
        ok = c.post("/signin", data={"token": live.tokens["admin"], "csrf": csrf, "next": "/"})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "headrace_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert c.post("/signout", data={"csrf": "forged"}).status_code == 403
        assert c.get("/").status_code == 200
        css = c.get("/static/studio.css")  # every stylesheet in one response, cached by ETag
        assert css.status_code == 200 and "/* runs.css */" in css.text and css.headers["content-type"].startswith("text/css")
        assert c.get("/static/studio.css", headers={"If-None-Match": css.headers["etag"]}).status_code == 304
