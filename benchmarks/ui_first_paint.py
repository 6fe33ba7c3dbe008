"""Web UI first paint with a big store: 10,000 runs (and their steps, metrics, schedules).

A home is seeded straight through the metadata store (fast), then a real ``headrace server`` serves
it on loopback and Debian's chromium (Playwright, ``executable_path``) loads each page. Per page:

- server: median / p95 time of the HTML response (httpx, N requests);
- first paint: the browser's ``first-contentful-paint`` (median of N fresh loads), which includes
  the CSS and scripts the page pulls.

Floor (same run): the sign-in page, which renders the same base template with no data, so the
ratio shows what the data costs. Goal (issue 5): first paint under 200 ms with 10,000 runs.

    .venv/bin/python benchmarks/ui_first_paint.py [--runs 10000] [--loads 15] [--db-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import httpx
from _server import BenchServer, percentile

SEED = r'''
import random, sys, uuid
from datetime import timedelta
from headrace import clock
from headrace.config import load_settings
from headrace.core.recurrence import ScheduleRecurrence
from headrace.services import endpoints, schedules
from headrace.storage.records import MetricRecord, RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.wiring import build_services

count, pipeline_id = int(sys.argv[1]), sys.argv[2]
svc = build_services(load_settings())
store = svc.store
published = store.get_published_pipeline(pipeline_id)
ep = endpoints.publish_endpoint(svc, name="bench-endpoint", published_pipeline_id=pipeline_id)
sched = schedules.create_schedule(svc, name="bench-every-hour", published_pipeline_id=pipeline_id,
                                  recurrence=ScheduleRecurrence(frequency="Hour", interval=1), experiment_name="bench-scheduled")
rng = random.Random(7)
start = clock.now() - timedelta(days=30)
statuses = [RunStatus.FINISHED] * 8 + [RunStatus.FAILED, RunStatus.CANCELED]
experiments = {}
for i in range(count):
    name = f"exp-{i % 20:02d}" if i % 7 else "bench-scheduled"
    exp = experiments.get(name) or experiments.setdefault(name, store.get_or_create_experiment(name))
    created = start + timedelta(seconds=i * 250)
    status = rng.choice(statuses)
    run_id = uuid.uuid4().hex
    run = RunRecord(id=run_id, experiment_id=exp.id, experiment_name=exp.name, pipeline_id=published.pipeline_id,
                    status=status, created_at=created, started_at=created + timedelta(seconds=1),
                    ended_at=created + timedelta(seconds=rng.randint(5, 600)), parameters={"n": i},
                    run_source="Schedule" if name == "bench-scheduled" else "SDK",
                    published_pipeline_id=pipeline_id,
                    pipeline_endpoint_id=ep.id if i % 3 == 0 else None,
                    pipeline_endpoint_version="0" if i % 3 == 0 else None,
                    schedule_id=sched.id if name == "bench-scheduled" else None)
    step_status = {RunStatus.FINISHED: StepStatus.FINISHED, RunStatus.FAILED: StepStatus.FAILED,
                   RunStatus.CANCELED: StepStatus.CANCELED}[status]
    steps = [StepRunRecord(id=uuid.uuid4().hex, run_id=run_id, name="noop", status=step_status, created_at=created,
                           started_at=created + timedelta(seconds=1), ended_at=run.ended_at,
                           exit_code=0 if step_status == StepStatus.FINISHED else 1)]
    store.create_run(run, steps)
    if i % 50 == 0:
        store.add_metrics([MetricRecord(run_id=run_id, step_run_id=steps[0].id, name="loss", value=1 / (k + 1),
                                        kind="scalar", seq=k, logged_at=created) for k in range(20)])
print(sched.id, ep.id, run_id)
'''

PAGES = [
    ("sign-in (floor)", "/signin"),
    ("pipeline endpoints", "/"),
    ("runs", "/runs"),
    ("runs, failed", "/runs?status=Failed"),
    ("run", "/runs/{run_id}"),
    ("experiments", "/experiments"),
    ("experiment", "/experiments/exp-03"),
    ("schedules", "/schedules"),
    ("schedule", "/schedules/{schedule_id}"),
    ("published pipeline", "/pipelines/{pipeline_id}"),
    ("endpoint", "/endpoints/{endpoint_id}"),
]
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)),
                None)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def seed(server: BenchServer, runs: int) -> dict[str, str]:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-c", SEED, str(runs), server.pipeline_id], env=server.env,
                         capture_output=True, text=True, check=True)
    schedule_id, endpoint_id, run_id = out.stdout.split()[-3:]
    print(f"seeded {runs} runs in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return {"schedule_id": schedule_id, "endpoint_id": endpoint_id, "run_id": run_id,
            "pipeline_id": server.pipeline_id}


def server_times(url: str, headers: dict[str, str], loads: int) -> list[float]:
    out = []
    with httpx.Client(headers=headers, timeout=30) as c:
        c.get(url)  # warm caches, as a person's second visit would
        for _ in range(loads):
            t0 = time.perf_counter()
            r = c.get(url)
            out.append(time.perf_counter() - t0)
            if r.status_code >= 400:
                raise LookupError(f"{url}: HTTP {r.status_code}")
    return out


FCP_JS = """() => new Promise(resolve => {
  new PerformanceObserver(list => {
    const e = list.getEntriesByName('first-contentful-paint')[0];
    if (e) resolve(e.startTime);
  }).observe({type: 'paint', buffered: true});
  setTimeout(() => resolve(null), 3000);
})"""


def paint_times(browser, url: str, loads: int, *, fresh_context: bool = False) -> list[float]:
    """First paint of ``loads`` navigations: in an open tab with the HTTP cache off (every page fetches its
    CSS and scripts again), or with ``fresh_context`` in a new browser context each time (adds the
    renderer's own start, ~150 ms here, whatever the page)."""
    out = []
    context = page = None
    for _ in range(loads + 1):
        if fresh_context or context is None:
            if context is not None:
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto("about:blank")
        page.goto(url, wait_until="load")
        fcp = page.evaluate(FCP_JS)
        if fcp is not None:
            out.append(fcp / 1000)
    context.close()
    return out[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--loads", type=int, default=15)
    ap.add_argument("--db-url")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    server = BenchServer(db_url=args.db_url, agent=False)
    results = []
    try:
        ids = seed(server, args.runs)
        # Restart with --no-auth so the browser needs no sign-in (loopback only).
        server.stop()
        server = _restart_no_auth(server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for label, path in PAGES:
                url = server.url + path.format(**ids)
                try:
                    st = server_times(url, {}, args.loads)
                except LookupError as exc:
                    print(f"skipped {label}: {exc}", file=sys.stderr)
                    continue
                pt = paint_times(browser, url, args.loads)
                cold = paint_times(browser, url, max(3, args.loads // 3), fresh_context=True)
                results.append({"page": label, "path": path, "server_ms_p50": percentile(st, .5) * 1000,
                                "server_ms_p95": percentile(st, .95) * 1000,
                                "paint_ms_p50": percentile(pt, .5) * 1000, "paint_ms_max": max(pt) * 1000,
                                "cold_paint_ms_p50": percentile(cold, .5) * 1000})
            browser.close()
    finally:
        server.stop()
    floor = results[0]["paint_ms_p50"]
    if args.json:
        print(json.dumps({"runs": args.runs, "pages": results}, indent=2))
        return
    print(f"{args.runs} runs in the store; first paint = chromium first-contentful-paint in an open tab, cache off, "
          f"median of {args.loads}; cold = in a new browser context")
    print(f"{'page':<22} {'server p50':>10} {'server p95':>10} {'paint p50':>10} {'paint max':>10} {'vs floor':>9}"
          f" {'cold p50':>9}")
    for r in results:
        print(f"{r['page']:<22} {r['server_ms_p50']:>8.1f}ms {r['server_ms_p95']:>8.1f}ms "
              f"{r['paint_ms_p50']:>8.1f}ms {r['paint_ms_max']:>8.1f}ms {r['paint_ms_p50'] / floor:>8.2f}x"
              f" {r['cold_paint_ms_p50']:>7.1f}ms")


def _restart_no_auth(old: BenchServer) -> BenchServer:
    """The same home, served again with ``--no-auth`` and without the agent."""
    old.log = open(old.tmp / "server2.log", "wb")  # noqa: SIM115 - closed in stop()
    args = [sys.executable, "-m", "headrace", "server", "--home", str(old.home), "--port", str(old.port),
            "--no-auth", "--no-agent", "--no-scheduler"]
    old.proc = subprocess.Popen(args, env=old.env, stdout=old.log, stderr=subprocess.STDOUT)
    old._wait_healthy()
    return old


if __name__ == "__main__":
    main()
