"""Regenerate the web UI screenshots in ``docs/screenshots/`` (used by the README).

Builds a throwaway home with the example Iris pipeline: a few real runs (one reusing every step,
one with a changed parameter), the endpoint ``iris-training`` and its two schedules, a file dropped
in the watched folder; serves it with ``headrace server --no-auth`` on loopback, and photographs
each page with Debian's chromium (Playwright, ``executable_path``; nothing is downloaded).

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ml-pipeline"
PY = sys.executable
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)),
                None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def sh(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = 120, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def prepare(env: dict[str, str]) -> None:
    sh(PY, str(EXAMPLE / "pipeline.py"), env=env)
    sh(PY, str(EXAMPLE / "pipeline.py"), "--param", "epochs=400", env=env)
    sh(PY, str(EXAMPLE / "pipeline.py"), env=env)  # every step reused
    sh(PY, str(EXAMPLE / "publish.py"), env=env)


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", timeout=30)


def shoot(base: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with api(base) as c:
        ep = c.get("/pipeline-endpoints/by-name/iris-training").json()
        runs = c.get("/runs", params={"limit": 20}).json()["Value"]
    # The newest finished run submitted over REST (its page shows the endpoint version it used).
    run_id = next((r["Id"] for r in runs if r["ExperimentName"] == "from-the-ui"), runs[0]["Id"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        desk = browser.new_context(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
        page = desk.new_page()
        shots = [("endpoints", "/"), ("endpoint", f"/endpoints/{ep['Id']}"), ("runs", "/runs"),
                 ("run", f"/runs/{run_id}"), ("schedules", "/schedules"), ("experiments", "/experiments")]
        page.goto(f"{base}/schedules")
        link = page.locator("a[href^='/schedules/']").first
        if link.count():
            shots.append(("schedule", link.get_attribute("href")))
        for name, path in shots:
            page.goto(base + path, wait_until="networkidle")
            page.screenshot(path=str(out / f"{name}.png"), full_page=name in ("run", "endpoint"))
            print(f"wrote {out / (name + '.png')}")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=1)
        ppage = phone.new_page()
        ppage.goto(f"{base}/runs/{run_id}", wait_until="networkidle")
        ppage.screenshot(path=str(out / "run-phone.png"))
        print(f"wrote {out / 'run-phone.png'}")
        browser.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="headrace-shots-"))
    env = dict(os.environ, HEADRACE_HOME=str(tmp / "home"))
    prepare(env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([PY, "-m", "headrace", "server", "--port", str(port), "--no-auth"], env=env,
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until(lambda: _healthy(base), 60, "the server")
        incoming = tmp / "home" / "datastores" / "workspaceblobstore" / "incoming"
        shutil.copy(EXAMPLE / "data" / "iris.csv", incoming / "iris-new.csv")
        with api(base) as c:
            c.post("/pipeline-endpoints/by-name/iris-training/submit",
                   json={"ExperimentName": "from-the-ui", "ParameterAssignments": {"epochs": 300}})
            wait_until(lambda: _all_done(c), 300, "the runs to finish")
        shoot(base, args.out)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _all_done(c: httpx.Client) -> bool:
    items = c.get("/runs", params={"limit": 50}).json()["Value"]
    return len(items) >= 5 and all(r["Status"] not in ("Queued", "Running", "NotStarted") for r in items)


if __name__ == "__main__":
    sys.exit(main())
