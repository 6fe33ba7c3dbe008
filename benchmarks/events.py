"""Events: a run's end reaching a webhook receiver, a backlog of events drained, an inbound event queuing a run.

A real ``headrace server`` runs on loopback over a fresh home (SQLite by default), with its agent and its
events dispatcher; a fast receiver runs in its own process (``_webhook_receiver.py``).

Figures:
- run finished -> webhook received: the receiver's arrival time minus the run's recorded end
  (``data.ended_at``), over N sequential runs; median and p99 (goal: median <= 50 ms, p99 <= 250 ms).
  Floor (same run): a bare POST from this process to the same receiver.
- backlog: 10,000 events put in the outbox at once (one transaction, as a burst of run ends would),
  drained to the receiver; deliveries per second (goal >= 500/s) and the server's memory before,
  after and at its peak. One subscription's deliveries go out in event order, one after another, so the
  floor (same run) is the same number of bare POSTs one at a time; 16 at a time is printed too.
- inbound event -> run queued: ``POST /api/v1/triggers/{name}/events`` answered with the queued run,
  median and p99 (goal: median <= 20 ms). Floor (same run): ``POST /pipelines/{id}/submit``.

    .venv/bin/python benchmarks/events.py [--runs 50] [--backlog 10000] [--inbound 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _server import BenchServer, free_port, percentile

HERE = Path(__file__).parent


def ms(xs: list[float]) -> dict[str, float]:
    return {"median_ms": percentile(xs, 0.5) * 1000, "p99_ms": percentile(xs, 0.99) * 1000,
            "min_ms": min(xs) * 1000, "max_ms": max(xs) * 1000}


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


class Receiver:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.log = tmp / "received.jsonl"
        self.log.touch()
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_webhook_receiver.py"), str(self.port),
                                      str(self.log)])
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def count(self) -> int:
        return int(httpx.get(f"http://127.0.0.1:{self.port}/", timeout=5).text)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run_end_latency(server: BenchServer, api: httpx.Client, receiver: Receiver, count: int) -> list[float]:
    r = api.post("/webhooks", json={"name": "latency", "url": receiver.url, "events": ["run.finished"]})
    r.raise_for_status()
    out = []
    for i in range(count + 3):
        run_id = api.post(f"/pipelines/{server.pipeline_id}/submit", json={"ExperimentName": "events-bench",
                                                                          "ParameterAssignments": {"n": i}}).json()["Id"]
        deadline = time.monotonic() + 60
        while True:
            got = [m for m in receiver.lines() if m["type"] == "run.finished" and m["data"]["run_id"] == run_id]
            if got:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"no run.finished for {run_id} within 60 s")
            time.sleep(0.002)
        if i >= 3:  # warm-up
            ended = datetime.fromisoformat(got[0]["data"]["ended_at"]).timestamp()
            out.append(got[0]["t"] - ended)
    api.post("/webhooks/latency/disable").raise_for_status()
    return out


def floor_post(receiver: Receiver, count: int) -> list[float]:
    out = []
    with httpx.Client() as client:
        for _ in range(count):
            t0 = time.time()
            client.post(receiver.url, content=b'{"filler": true}', headers={"content-type": "application/json"})
            out.append(time.time() - t0)
    return out


def backlog(server: BenchServer, api: httpx.Client, receiver: Receiver, count: int) -> dict:
    from headrace.config import load_settings
    from headrace.storage.event_records import EventRecord
    from headrace.wiring import open_store

    api.post("/webhooks", json={"name": "backlog", "url": receiver.url, "events": ["run.failed"]}).raise_for_status()
    store = open_store(load_settings(home=server.home))
    now = datetime.now(UTC)
    events = [EventRecord(id=f"evt_{uuid.uuid4().hex}", type="run.failed", created_at=now,
                          data={"filler": True, "n": i}) for i in range(count)]
    before_count = receiver.count()
    memory_before = rss_kib(server.proc.pid)
    t0 = time.time()
    store.add_events(events)
    deadline = time.monotonic() + 600
    while receiver.count() - before_count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"backlog not drained: {receiver.count() - before_count} of {count}")
        time.sleep(0.01)
    elapsed = time.time() - t0
    memory_after = rss_kib(server.proc.pid)
    delivered = store.count_deliveries("delivered")
    store.close()
    return {"events": count, "seconds": elapsed, "per_second": count / elapsed, "delivered_in_store": delivered,
            "rss_before_mib": memory_before["VmRSS"] / 1024, "rss_after_mib": memory_after["VmRSS"] / 1024,
            "rss_peak_mib": memory_after["VmHWM"] / 1024}


def floor_backlog(receiver: Receiver, count: int, at_once: int = 16) -> float:
    with httpx.Client(limits=httpx.Limits(max_connections=32)) as client, ThreadPoolExecutor(at_once) as pool:
        t0 = time.time()
        list(pool.map(lambda _: client.post(receiver.url, content=b'{"filler": true}',
                                            headers={"content-type": "application/json"}), range(count)))
        return count / (time.time() - t0)


def inbound(server: BenchServer, api: httpx.Client, count: int) -> tuple[list[float], list[float]]:
    api.post("/triggers", json={"name": "inbound", "event": "http", "experiment_name": "events-bench",
                                "pipeline_id": server.pipeline_id,
                                "pipeline_parameters": {"n": "@triggerBody().n"}}).raise_for_status()
    fired, submitted = [], []
    for i in range(count + 5):
        t0 = time.time()
        r = api.post("/triggers/inbound/events", json={"id": f"e{i}", "n": i})
        took = time.time() - t0
        r.raise_for_status()
        if not r.json()["events"][0]["runs"]:
            raise RuntimeError(f"event {i} queued no run: {r.text}")
        t0 = time.time()
        api.post(f"/pipelines/{server.pipeline_id}/submit", json={"ExperimentName": "events-bench",
                                                                  "ParameterAssignments": {"n": i}}).raise_for_status()
        if i >= 5:
            fired.append(took)
            submitted.append(time.time() - t0)
    return fired, submitted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--backlog", type=int, default=10_000)
    ap.add_argument("--inbound", type=int, default=200)
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    os.environ["HEADRACE_WEBHOOKS__ALLOWED_NETWORKS"] = "127.0.0.0/8"
    server = BenchServer(db_url=args.db_url)
    receiver = Receiver(server.tmp)
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1", headers=server.headers, timeout=60) as api:
            latency = run_end_latency(server, api, receiver, args.runs)
            post_floor = floor_post(receiver, 200)
            drained = backlog(server, api, receiver, args.backlog)
            raw_rate = floor_backlog(receiver, args.backlog)
            in_order_rate = floor_backlog(receiver, args.backlog, at_once=1)
            fired, submitted = inbound(server, api, args.inbound)
    finally:
        receiver.stop()
        server.stop()

    report = {
        "db": args.db_url or "sqlite",
        "run_end_to_webhook": ms(latency), "floor_bare_post": ms(post_floor),
        "backlog": {**drained, "floor_bare_posts_per_second": in_order_rate,
                    "ratio_to_floor": in_order_rate / drained["per_second"], "bare_posts_16_at_once_per_second": raw_rate},
        "inbound_to_queued": ms(fired), "floor_rest_submit": ms(submitted),
        "goals": {"run_end_median_ms": 50, "run_end_p99_ms": 250, "backlog_per_second": 500, "inbound_median_ms": 20},
    }
    met = (report["run_end_to_webhook"]["median_ms"] <= 50 and report["run_end_to_webhook"]["p99_ms"] <= 250
           and drained["per_second"] >= 500 and report["inbound_to_queued"]["median_ms"] <= 20)
    report["goal_met"] = met
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if met else 1
    print(f"events benchmark, {report['db']}")
    print(f"{'latency':<40}{'median':>9}{'p99':>9}{'min':>9}{'max':>9}")
    for label, key in (("run finished -> webhook received", "run_end_to_webhook"),
                       ("floor: bare POST to the receiver", "floor_bare_post"),
                       ("inbound event -> run queued (answer)", "inbound_to_queued"),
                       ("floor: REST submit", "floor_rest_submit")):
        s = report[key]
        print(f"{label:<40}{s['median_ms']:>8.1f} {s['p99_ms']:>8.1f} {s['min_ms']:>8.1f} {s['max_ms']:>8.1f}")
    b = report["backlog"]
    print(f"backlog of {b['events']} events drained in {b['seconds']:.2f} s: {b['per_second']:.0f} deliveries/s "
          f"(floor: {b['floor_bare_posts_per_second']:.0f} bare POSTs/s one at a time, ratio {b['ratio_to_floor']:.2f}x; "
          f"{b['bare_posts_16_at_once_per_second']:.0f}/s 16 at a time); "
          f"server RSS {b['rss_before_mib']:.0f} -> {b['rss_after_mib']:.0f} MiB (peak {b['rss_peak_mib']:.0f})")
    print(f"goals (median <= 50 ms / p99 <= 250 ms, >= 500/s, inbound median <= 20 ms): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
