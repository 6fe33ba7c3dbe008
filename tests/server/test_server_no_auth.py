"""A ``--no-auth`` server must not be drivable by web pages: no cross-origin or text/plain submissions, a
CSRF value no page can know, and no answers to a rebound DNS name (``Host`` must be loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from headrace.server.app import create_app
from headrace.server.ui.session import csrf_for
from headrace.services import publishing

BODY = b'{"ExperimentName": "from-a-page"}'


@pytest.fixture
def open_server(tmp_path, make_services, echo_pipeline, serve_app) -> Iterator[tuple[str, str, object]]:
    """A no-auth server (no agent: runs stay queued) with a published echo pipeline: (url, pipeline id, svc)."""
    svc = make_services(tmp_path / "home")
    pipeline = publishing.publish_pipeline(svc, echo_pipeline(), name="echo", version="1.0").id
    with serve_app(create_app(svc, auth=False)) as url:
        yield url, pipeline, svc
    svc.store.close()


def runs(svc) -> int:
    return len(svc.store.list_runs(limit=100)[0])


def test_a_page_cannot_submit_with_a_simple_request(open_server):
    """A browser sends text/plain (or form-encoded, or untyped) bodies cross-origin without asking first."""
    url, pipeline, svc = open_server
    submit = f"{url}/api/v1/pipelines/{pipeline}/submit"
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        r = httpx.post(submit, content=BODY, headers=headers)
        assert r.status_code == 415, (content_type, r.text)
        err = r.json()["Error"]
        assert err["Code"] == "UnsupportedMediaType" and "application/json" in err["Message"], err
    assert runs(svc) == 0
    # The SDK, requests' json= and Azure ML clients send application/json (with or without a charset).
    for content_type in ("application/json", "application/json; charset=utf-8", "Application/JSON"):
        r = httpx.post(submit, content=BODY, headers={"Content-Type": content_type})
        assert r.status_code == 200, (content_type, r.text)
    assert runs(svc) == 3


def test_a_foreign_origin_is_refused(open_server):
    url, pipeline, svc = open_server
    submit = f"{url}/api/v1/pipelines/{pipeline}/submit"
    json_type = {"Content-Type": "application/json"}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://127.0.0.1:1"}):
        r = httpx.post(submit, content=BODY, headers={**json_type, **headers})
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["Error"]["Code"] == "CrossOriginRefused" and "Origin" in r.json()["Error"]["Message"]
    assert runs(svc) == 0
    # The server's own pages (same origin) may post.
    host = url.removeprefix("http://")
    r = httpx.post(submit, content=BODY, headers={**json_type, "Origin": url, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200, (host, r.text)


def test_only_loopback_host_names_are_served(open_server):
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not read the server."""
    url, _pipeline, _svc = open_server
    port = url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"192.168.1.5:{port}", f"localhost.evil.example:{port}"):
        r = httpx.get(f"{url}/api/v1/runs", headers={"Host": host})
        assert r.status_code == 400, (host, r.text)
        err = r.json()["Error"]
        assert err["Code"] == "HostNotAllowed" and host.split(":")[0] in err["Message"], err
        assert "--allowed-host" in err["Message"]
        assert httpx.get(f"{url}/runs", headers={"Host": host}).status_code == 400  # the UI too
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}", f"app.localhost:{port}"):
        assert httpx.get(f"{url}/api/v1/runs", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_setting(tmp_path, make_services, serve_app):
    svc = make_services(tmp_path / "home")
    with serve_app(create_app(svc, auth=False, allowed_hosts=["box.internal", "*.lab.example"])) as url:
        for host, status in (("box.internal", 200), ("a.lab.example:80", 200), ("lab.example", 400),
                             ("localhost", 200), ("evil.example", 400)):
            assert httpx.get(f"{url}/api/v1/runs", headers={"Host": host}).status_code == status, host
    svc.store.close()


def test_the_ui_csrf_value_is_secret_per_process(tmp_path, make_services, serve_app):
    """It was ``csrf_for("no-auth")``, the same in every installation: a page could post the UI's forms."""
    svc = make_services(tmp_path / "home")
    values = []
    for _ in range(2):
        with serve_app(create_app(svc, auth=False)) as url:
            page = httpx.get(f"{url}/runs").text
            values.append(page.split('name="csrf" value="', 1)[1].split('"', 1)[0])
            r = httpx.post(f"{url}/signout", data={"csrf": csrf_for("no-auth")},
                           headers={"Origin": url})
            assert r.status_code == 403, r.text
    assert csrf_for("no-auth") not in values and values[0] != values[1] and len(values[0]) >= 32
    svc.store.close()


def test_the_command_line_takes_allowed_hosts(tmp_path, start_cli_server):
    _proc, url = start_cli_server(tmp_path / "home", "--no-auth", "--allowed-host", "box.internal",
                                  env={"HEADRACE_SERVER_WORKERS": "1"})
    for host, status in (("box.internal", 200), ("localhost", 200), ("evil.example", 400)):
        assert httpx.get(f"{url}/api/v1/runs", headers={"Host": host}).status_code == status, host
