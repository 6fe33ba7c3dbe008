"""The ``headrace server`` process and ``headrace token``: refusing --no-auth off loopback, the admin token
of a first start, token create/list/revoke, and durability: kill -9 right after a 200, the run still runs."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from headrace.cli.main import app
from headrace.cli.server import is_loopback, local_url
from headrace.services import publishing
from headrace.services.bundle import Services


def test_no_auth_off_loopback_is_refused(tmp_path):
    out = subprocess.run([sys.executable, "-m", "headrace", "server", "--host", "0.0.0.0", "--no-auth",
                          "--home", str(tmp_path / "h")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "refusing to serve without authentication" in out.stderr
    assert not (tmp_path / "h").exists()  # refused before anything was created
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("example.org")
    assert local_url("0.0.0.0", 80) == "http://127.0.0.1:80" and local_url("::1", 80) == "http://[::1]:80"


def test_first_start_writes_a_private_admin_token(tmp_path, start_cli_server):
    home = tmp_path / "home"
    proc, url = start_cli_server(home)
    config = home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    data = json.loads(config.read_text())
    assert data["server_url"] == url and data["token"].startswith("hr_")
    admin = {"Authorization": f"Bearer {data['token']}"}
    assert httpx.get(f"{url}/api/v1/pipelines", headers=admin).status_code == 200
    assert httpx.post(f"{url}/api/v1/pipelines/x/disable", headers=admin).status_code == 404  # admin passes auth
    assert httpx.get(f"{url}/api/v1/pipelines").status_code == 401
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean stop
    _, url2 = start_cli_server(home)  # a restart keeps the token that works
    assert json.loads(config.read_text())["token"] == data["token"]
    assert httpx.get(f"{url2}/api/v1/runs", headers=admin).status_code == 200


def test_token_cli_create_list_revoke(live, wait_until):
    runner = CliRunner()
    home = str(live.svc.home)
    made = runner.invoke(app, ["token", "create", "--role", "submitter", "--name", "ci", "--home", home])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("hr_") and secret not in made.output.strip().splitlines()[0]
    as_json = runner.invoke(app, ["token", "create", "--role", "reader", "--json", "--home", home])
    reader_secret = json.loads(as_json.output)["token"]
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{live.url}/api/v1/runs", headers=auth).status_code == 200
    assert httpx.post(f"{live.url}/api/v1/pipelines/x/disable", headers=auth).status_code == 403
    assert httpx.post(f"{live.url}/api/v1/runs/x/cancel",
                      headers={"Authorization": f"Bearer {reader_secret}"}).status_code == 403
    listed = runner.invoke(app, ["token", "list", "--json", "--home", home])
    rows = json.loads(listed.output)
    assert {"ci", "submitter-test"} <= {r["name"] for r in rows}
    assert secret not in listed.output and all("token" not in r and "token_hash" not in r for r in rows)
    table = runner.invoke(app, ["token", "list", "--home", home])
    assert table.exit_code == 0 and "ci" in table.output
    revoked = runner.invoke(app, ["token", "revoke", "ci", "--home", home])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    # A running server trusts a token it has seen for HEADRACE_CACHE_SECONDS (1 s) at most.
    wait_until(lambda: httpx.get(f"{live.url}/api/v1/runs", headers=auth).status_code == 401, timeout=5,
               message="the revoked token to be refused")
    bad = runner.invoke(app, ["token", "create", "--role", "root", "--home", home])
    assert bad.exit_code != 0


def _publish_echo(home, echo_pipeline, make_services) -> str:
    svc: Services = make_services(home)
    try:
        return publishing.publish_pipeline(svc, echo_pipeline(), name="durable").id
    finally:
        svc.store.close()


@pytest.mark.parametrize("when, policy, expected", [
    ("right after 200", None, "Finished"),
    ("once the step runs", None, "Finished"),
    ("once the step runs", "fail", "Failed"),
])
def test_kill_9_after_200_the_run_still_executes(tmp_path, signals, echo_pipeline, start_cli_server, make_services,
                                                 wait_until, when, policy, expected):
    home = tmp_path / "home"
    published = _publish_echo(home, echo_pipeline, make_services)
    env = {"HEADRACE_AGENT__ORPHAN_POLICY": policy} if policy else None
    proc, url = start_cli_server(home, env=env)
    token = json.loads((home / "config.json").read_text())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{url}/api/v1/pipelines/{published}/submit", headers=auth, json={
        "ExperimentName": "durable", "ParameterAssignments": {"tag": "dur", "wait_for": "release"}})
    assert r.status_code == 200, r.text
    if when == "once the step runs":
        wait_until(lambda: (signals / "dur.started").exists(), message="the step to start")
    proc.kill()  # SIGKILL: no shutdown code runs
    proc.wait(timeout=30)
    pids = []
    try:
        _, url = start_cli_server(home, env=env)
        if expected == "Finished":
            wait_until(lambda: len(_pids(signals)) >= (2 if when == "once the step runs" else 1),
                       timeout=30, message="the step to (re)start after the restart")
        (signals / "release").write_text("go")
        pids = _pids(signals)
        deadline = time.monotonic() + 60
        while (body := httpx.get(f"{url}/api/v1/runs/{r.json()['Id']}", headers=auth).json())["Status"] not in (
                "Finished", "Failed", "Canceled") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert body["Status"] == expected, body
        if expected == "Finished":
            assert json.loads((signals / "dur.json").read_text())["tag"] == "dur"
        else:
            assert "agent" in body["Error"]
    finally:
        for pid in pids or _pids(signals):  # a step orphaned by the kill
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _pids(signals) -> list[int]:
    try:
        return [int(x) for x in (signals / "dur.started").read_text().split()]
    except FileNotFoundError:
        return []


def test_several_workers_share_one_home(tmp_path, signals, echo_pipeline, start_cli_server, make_services,
                                        wait_until):
    """``--workers 2``: two server processes, each with an agent; every submission runs exactly once."""
    home = tmp_path / "home"
    published = _publish_echo(home, echo_pipeline, make_services)
    proc, url = start_cli_server(home, "--workers", "2")
    token = json.loads((home / "config.json").read_text())["token"]
    auth = {"Authorization": f"Bearer {token}"}
    try:
        ids = []
        for i in range(12):
            r = httpx.post(f"{url}/api/v1/pipelines/{published}/submit", headers=auth,
                           json={"ExperimentName": "workers", "ParameterAssignments": {"tag": f"w{i}"}})
            assert r.status_code == 200, r.text
            ids.append(r.json()["Id"])

        def statuses() -> list[str]:
            return [httpx.get(f"{url}/api/v1/runs/{i}", headers=auth).json()["Status"] for i in ids]

        wait_until(lambda: all(s == "Finished" for s in statuses()), timeout=60, message="every run to finish")
        runs = httpx.get(f"{url}/api/v1/runs", headers=auth, params={"experimentName": "workers"}).json()["Value"]
        assert sorted(r["Id"] for r in runs) == sorted(ids)
        for i in range(12):  # each step ran exactly once
            assert len((signals / f"w{i}.started").read_text().split()) == 1
    finally:
        proc.terminate()  # graceful: the parent stops its worker processes
        proc.wait(timeout=30)
