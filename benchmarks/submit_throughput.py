"""Submission throughput: concurrent clients POST submissions to one published pipeline.

A real ``headrace server`` runs on loopback over a fresh home. C client threads (each with its
own keep-alive connection) submit for a fixed count; the figure is accepted submissions per
second (HTTP 200). Afterwards every returned run id is checked against ``GET /runs`` (all
present, no duplicates). By default the server's agent is off, so the figure is the API and the
metadata store alone; ``--with-agent`` also executes the runs meanwhile.

Load comes from ``wrk`` (Debian package) when it is installed: a Python load generator on the
same 2 cores eats the CPU the server needs. Without it, Python client threads are used.

Floor (same run): ``GET /api/v1/health`` under the same load, i.e. HTTP + framework alone.
Goal (issue 3): ≥ 500 submissions/s on SQLite with 2 cores.

    .venv/bin/python benchmarks/submit_throughput.py [--seconds 10] [--clients 8] [--db-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import threading
import time

import httpx
from _server import BenchServer


def hammer(server: BenchServer, count: int, clients: int, submit: bool) -> tuple[float, list[str], int]:
    ids: list[str] = []
    errors = 0
    lock = threading.Lock()
    per_client = count // clients

    def worker(k: int) -> None:
        nonlocal errors
        with httpx.Client(headers=server.headers, timeout=60) as client:
            for i in range(per_client):
                if submit:
                    r = client.post(server.submit_url, json={"ExperimentName": "throughput",
                                                            "ParameterAssignments": {"n": k * per_client + i}})
                else:
                    r = client.get(f"{server.url}/api/v1/health")
                with lock:
                    if r.status_code == 200:
                        if submit:
                            ids.append(r.json()["Id"])
                    else:
                        errors += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, ids, errors


WRK_SCRIPT = """
wrk.method = "%(method)s"
wrk.body = '%(body)s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\\n", summary.requests, e.status,
                         e.connect + e.read + e.write + e.timeout, summary.duration))
end
"""


def wrk_load(server: BenchServer, seconds: float, clients: int, submit: bool) -> tuple[float, int, int]:
    """(seconds, 2xx responses, errors) from wrk."""
    script = server.tmp / ("submit.lua" if submit else "health.lua")
    body = json.dumps({"ExperimentName": "throughput", "ParameterAssignments": {"n": 1}}) if submit else ""
    script.write_text(WRK_SCRIPT % {"method": "POST" if submit else "GET", "body": body, "token": server.token})
    url = server.submit_url if submit else f"{server.url}/api/v1/health"
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    requests, status_errors, socket_errors, micros = map(int, re.search(r"RESULT (\d+) (\d+) (\d+) (\d+)", out).groups())
    return micros / 1e6, requests - status_errors - socket_errors, status_errors + socket_errors


def stored_ids(server: BenchServer) -> list[str]:
    out, token = [], None
    with httpx.Client(headers=server.headers, timeout=60) as client:
        while True:
            params = {"experimentName": "throughput", "limit": 500}
            if token:
                params["continuationToken"] = token
            page = client.get(f"{server.url}/api/v1/runs", params=params).json()
            out += [r["Id"] for r in page["Value"]]
            token = page.get("ContinuationToken")
            if not token:
                return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10, help="load duration with wrk")
    ap.add_argument("--count", type=int, default=3000, help="submissions without wrk")
    ap.add_argument("--python-clients", action="store_true", help="use Python client threads even if wrk exists")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--with-agent", action="store_true")
    ap.add_argument("--workers", type=int, default=1, help="headrace server --workers")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    use_wrk = shutil.which("wrk") is not None and not args.python_clients
    server = BenchServer(db_url=args.db_url, agent=args.with_agent, workers=args.workers)
    try:
        _, warm_ids, _ = hammer(server, 100, 4, submit=True)  # warm-up (not counted)
        if use_wrk:
            floor_s, floor_ok, _ = wrk_load(server, args.seconds / 2, args.clients, submit=False)
            secs, accepted, errors = wrk_load(server, args.seconds, args.clients, submit=True)
            ids: list[str] = []
        else:
            floor_s, _, _ = hammer(server, args.count, args.clients, submit=False)
            floor_ok = args.count // args.clients * args.clients
            secs, ids, errors = hammer(server, args.count, args.clients, submit=True)
            accepted = len(ids)
        stored = stored_ids(server)
    finally:
        server.stop()
    stored_new = len(stored) - len(warm_ids)
    # wrk cannot keep ids: check that exactly the accepted number of runs was stored.
    missing = len(set(ids) - set(stored)) if ids else max(0, accepted - stored_new)
    report = {
        "db": args.db_url or "sqlite", "clients": args.clients, "load": "wrk" if use_wrk else "python threads",
        "accepted": accepted, "errors": errors, "seconds": secs, "per_second": accepted / secs,
        "floor_health_per_second": floor_ok / floor_s,
        "stored_runs": stored_new, "missing": missing, "extra": max(0, stored_new - accepted),
        "duplicates": len(stored) - len(set(stored)), "with_agent": args.with_agent, "workers": args.workers, "goal_per_second": 500,
    }
    report["ratio_to_floor"] = report["per_second"] / report["floor_health_per_second"]
    # wrk stops counting at its deadline: up to one in-flight request per client is stored but uncounted.
    ok = (report["per_second"] >= 500 and not missing and report["extra"] <= args.clients
          and not report["duplicates"] and not errors)
    report["goal_met"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.clients} concurrent clients ({report['load']}), {report['db']}, "
              f"agent {'on' if args.with_agent else 'off'}, {args.workers} server worker(s)")
        print(f"accepted {accepted} in {secs:.2f} s = {report['per_second']:.0f}/s "
              f"(floor: GET /health {report['floor_health_per_second']:.0f}/s; ratio {report['ratio_to_floor']:.2f})")
        print(f"verified: {report['stored_runs']} stored, {missing} missing, {report['extra']} extra, "
              f"{report['duplicates']} duplicates,"
              f" {errors} errors")
        print(f"goal >= 500/s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
