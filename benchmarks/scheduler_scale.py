"""Scheduler scale: N active one-minute schedules, fired by one scheduler for several minutes.

A fresh home (SQLite by default, ``--db-url`` for PostgreSQL) gets one published pipeline and N
``Minute/1`` schedules whose anchors are spread evenly over a minute (as creation times would
be). The real scheduler thread then runs on the real clock for ``--minutes``; no agent runs, so
what is measured is scheduling: every fire creates its run (and step run) and a tick record.

Figures:
- fire lateness = run created - slot time, p50 / p99 / max (goal: p99 <= 1 s);
- scheduler CPU share while firing, and while idle (N hourly schedules, none due; goal <= 5 %);
- fires per second, and the CPU cost of one fire against the floor: one bare
  ``store.create_run`` (the insert every fire needs) measured in the same run.

    .venv/bin/python benchmarks/scheduler_scale.py [--schedules 10000] [--minutes 3] [--db-url URL]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _server import percentile

from headrace import Pipeline, PipelineParameter, PythonScriptStep
from headrace.config import load_settings
from headrace.services import publishing
from headrace.services.scheduler import Scheduler
from headrace.storage.records import (
    EntityStatus,
    RunRecord,
    RunStatus,
    ScheduleKind,
    ScheduleRecord,
    StepRunRecord,
    StepStatus,
)
from headrace.wiring import build_services


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def make_schedules(svc, published: str, count: int, frequency: str, start: datetime) -> None:
    spread = 60.0 / count
    for i in range(count):
        anchor = start + timedelta(seconds=i * spread)
        svc.store.create_schedule(ScheduleRecord(
            id=uuid.uuid4().hex, name=f"s{i}", kind=ScheduleKind.RECURRENCE, status=EntityStatus.ACTIVE,
            experiment_name="bench", trigger={"frequency": frequency, "interval": 1, "time_zone": "UTC"},
            created_at=anchor, updated_at=anchor, anchor=anchor, published_pipeline_id=published,
            parameters={"when": "@trigger().scheduledTime"},
            next_fire_at=anchor + timedelta(minutes=1 if frequency == "Minute" else 60),
        ))


def floor_insert(svc, pipeline_id: str, count: int) -> float:
    """CPU seconds of one bare run+step insert (the minimum a fire must write)."""
    exp = svc.store.get_or_create_experiment("floor")
    c0 = cpu()
    for _ in range(count):
        now = datetime.now(UTC)
        run = RunRecord(uuid.uuid4().hex, exp.id, exp.name, pipeline_id, RunStatus.QUEUED, now, {})
        svc.store.create_run(run, [StepRunRecord(uuid.uuid4().hex, run.id, "train", StepStatus.NOT_STARTED, now)])
    return (cpu() - c0) / count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schedules", type=int, default=10_000)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="headrace-sched-bench-"))
    svc = build_services(load_settings(home=tmp / "home", db_url=args.db_url))
    (tmp / "src").mkdir()
    (tmp / "src" / "train.py").write_text("print('hi')\n")
    when = PipelineParameter("when", default_value="never")
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(tmp / "src"),
                            arguments=["--when", when])
    published = publishing.publish_pipeline(svc, Pipeline(workspace=None, steps=[step]), name="bench")
    floor = floor_insert(svc, published.pipeline_id, 500)

    # Idle: N hourly schedules, none due during the window.
    t_make = time.monotonic()
    make_schedules(svc, published.id, args.schedules, "Hour", datetime.now(UTC))
    make_seconds = time.monotonic() - t_make
    scheduler = Scheduler(svc)
    scheduler.start()
    c0, w0 = cpu(), time.monotonic()
    time.sleep(args.idle_seconds)
    idle_share = (cpu() - c0) / (time.monotonic() - w0)
    scheduler.stop()
    for s in svc.store.list_schedules(active_only=True):
        svc.store.update_schedule(s.id, status=EntityStatus.DISABLED)

    # Busy: N one-minute schedules, starting a minute from now.
    # First slots after the schedules exist and the scheduler runs (creation took make_seconds before).
    start = datetime.now(UTC) + timedelta(seconds=5 + 2 * make_seconds)
    make_schedules(svc, published.id, args.schedules, "Minute", start - timedelta(minutes=1))
    scheduler = Scheduler(svc)
    scheduler.start()
    wait = (start - datetime.now(UTC)).total_seconds()
    time.sleep(max(wait, 0))
    c0, w0 = cpu(), time.monotonic()
    time.sleep(args.minutes * 60)
    busy_cpu, busy_wall = cpu() - c0, time.monotonic() - w0
    scheduler.stop()
    end = start + timedelta(seconds=busy_wall)

    lateness = []
    cursor = None
    while True:
        page, cursor = svc.store.list_runs(experiment_name="bench", limit=1000, cursor=cursor)
        for run in page:
            slot = datetime.fromisoformat(run.tags["headrace.scheduled_time"])
            if start <= slot < end - timedelta(seconds=2):
                lateness.append((run.created_at - slot).total_seconds())
        if cursor is None:
            break
    expected = int((end - timedelta(seconds=2) - start).total_seconds() / 60 * args.schedules)
    fires = len(lateness)
    per_fire = busy_cpu / max(fires, 1)
    figures = {
        "schedules": args.schedules, "db": svc.store.url if hasattr(svc.store, "url") else args.db_url or "sqlite",
        "create_seconds": round(make_seconds, 1),
        "fires": fires, "expected_fires": expected, "fires_per_second": round(fires / busy_wall, 1),
        "lateness_p50_ms": round(percentile(lateness, 0.5) * 1000, 1) if lateness else None,
        "lateness_p99_ms": round(percentile(lateness, 0.99) * 1000, 1) if lateness else None,
        "lateness_max_ms": round(max(lateness) * 1000, 1) if lateness else None,
        "busy_cpu_share": round(busy_cpu / busy_wall, 3), "idle_cpu_share": round(idle_share, 4),
        "cpu_ms_per_fire": round(per_fire * 1000, 2), "floor_cpu_ms_per_insert": round(floor * 1000, 2),
        "ratio_vs_floor": round(per_fire / floor, 2),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    ok = lateness and figures["lateness_p99_ms"] <= 1000 and idle_share <= 0.05 and fires >= expected * 0.99
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
