"""Trigger latency: POST a submission to a published pipeline → its step process starts.

A real ``headrace server`` runs on loopback over a fresh home (SQLite by default). Each of N
sequential triggers POSTs the Azure ML body, then waits until the step script has written the
time it started (its first line). Two latencies per trigger:

- dispatch: POST sent → the agent launches the step process (the step run's recorded start);
- started:  POST sent → the step's first line runs (includes the interpreter's own start).

Floor (same run): ``subprocess.run([python, noop.py])`` start-to-first-line, to show how much of
"started" is Python's own start-up. Goals (issue 3): median ≤ 50 ms, p99 ≤ 200 ms.

    .venv/bin/python benchmarks/trigger_latency.py [--count 200] [--db-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime

import httpx
from _server import STEP, BenchServer, percentile, read_stamp


def floor_startup(server: BenchServer, count: int) -> list[float]:
    script = server.tmp / "floor.py"
    script.write_text(STEP)
    out = []
    env = dict(server.env, HEADRACE_RUN_ID="floor")
    for _ in range(count):
        t0 = time.time()
        subprocess.run([sys.executable, str(script)], env=env, check=True)
        out.append(read_stamp(server.stamps / "floor") - t0)
        (server.stamps / "floor").unlink()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--db-url", default=None, help="metadata store (default: SQLite in the temp home)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    server = BenchServer(db_url=args.db_url)
    try:
        started, dispatched = [], []
        with httpx.Client(headers=server.headers, timeout=30) as client:
            for i in range(args.count + 5):
                t0 = time.time()
                r = client.post(server.submit_url, json={"ExperimentName": "latency",
                                                        "ParameterAssignments": {"n": i}})
                r.raise_for_status()
                run_id = r.json()["Id"]
                first_line = read_stamp(server.stamps / run_id)
                if i < 5:
                    continue  # warm-up
                started.append(first_line - t0)
                steps = client.get(f"{server.url}/api/v1/runs/{run_id}/steps").json()["Value"]
                start = datetime.fromisoformat(steps[0]["StartTime"]).timestamp()
                dispatched.append(start - t0)
        floor = floor_startup(server, 30)
    finally:
        server.stop()

    def stats(xs: list[float]) -> dict[str, float]:
        return {"median_ms": percentile(xs, 0.5) * 1000, "p99_ms": percentile(xs, 0.99) * 1000,
                "min_ms": min(xs) * 1000, "max_ms": max(xs) * 1000}

    if len(started) != args.count or len(dispatched) != args.count:  # every trigger is measured, or none judged
        raise RuntimeError(f"measured {len(started)} of {args.count} triggers")
    report = {"count": args.count, "db": args.db_url or "sqlite", "dispatch": stats(dispatched),
              "started": stats(started), "floor_python_start": stats(floor),
              "goal": {"median_ms": 50, "p99_ms": 200}}
    met = report["started"]["median_ms"] <= 50 and report["started"]["p99_ms"] <= 200
    report["goal_met"] = met
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.count} sequential REST triggers, {report['db']}")
        print(f"{'latency':<34}{'median':>10}{'p99':>10}{'min':>10}{'max':>10}")
        for label, key in (("POST -> step process launched", "dispatch"), ("POST -> step's first line", "started"),
                           ("floor: python start -> first line", "floor_python_start")):
            s = report[key]
            print(f"{label:<34}{s['median_ms']:>9.1f} {s['p99_ms']:>9.1f} {s['min_ms']:>9.1f} {s['max_ms']:>9.1f}")
        print(f"goal (first line): median <= 50 ms, p99 <= 200 ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
