"""Reactive polling: one datastore schedule watching a folder of N files (local datastore).

Figures:
- create: the schedule's creation, which lists the folder and stores the baseline cursor;
- poll: one evaluation with nothing changed (listing + comparison + tick), median of ``--polls``
  (goal <= 1 s for 100,000 files); the first poll after a restart, which reloads the cursor
  from the store, is reported apart;
- memory: peak RSS growth of the process from before creation to after the polls;
- detect -> run: a new file is written while the scheduler thread runs (polling every
  ``--interval`` seconds); the time until its run exists, median of ``--files`` files.
Floor (same run): ``os.scandir`` + ``stat`` of every file, the least any listing must do.

    .venv/bin/python benchmarks/reactive_poll.py [--files-in-folder 100000] [--polls 5] [--db-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from headrace import DataPath, Pipeline, PipelineParameter, PythonScriptStep
from headrace import clock as clock_module
from headrace.config import load_settings
from headrace.services import publishing
from headrace.services import schedules as svc_schedules
from headrace.services.scheduler import Scheduler
from headrace.wiring import build_services


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_listing(folder: Path) -> float:
    t0 = time.perf_counter()
    with os.scandir(folder) as entries:
        for entry in entries:
            entry.stat()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files-in-folder", type=int, default=100_000)
    ap.add_argument("--polls", type=int, default=5)
    ap.add_argument("--files", type=int, default=10, help="new files for the detect -> run latency")
    ap.add_argument("--interval", type=float, default=1.0, help="polling interval in seconds")
    ap.add_argument("--db-url", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="headrace-poll-bench-"))
    svc = build_services(load_settings(home=tmp / "home", db_url=args.db_url))
    folder = svc.home / "datastores" / "workspaceblobstore" / "incoming"
    folder.mkdir(parents=True)
    for i in range(args.files_in_folder):
        (folder / f"file-{i:06d}.csv").write_bytes(b"a,b\n1,2\n")
    (tmp / "src").mkdir()
    (tmp / "src" / "step.py").write_text("print('hi')\n")
    data = PipelineParameter("input_data", default_value=DataPath("workspaceblobstore", "incoming"))
    step = PythonScriptStep(name="step", script_name="step.py", source_directory=str(tmp / "src"),
                            inputs=[data], arguments=["--input", data])
    published = publishing.publish_pipeline(svc, Pipeline(workspace=None, steps=[step]), name="bench").id

    floors = [floor_listing(folder) for _ in range(3)]
    rss0 = rss_mb()
    t0 = time.perf_counter()
    s = svc_schedules.create_schedule(svc, name="watch", experiment_name="bench", published_pipeline_id=published,
                                      datastore="workspaceblobstore", path_on_datastore="incoming",
                                      polling_interval=args.interval / 60, data_path_parameter_name="input_data")
    create_seconds = time.perf_counter() - t0

    # Polls with nothing new, on a stepping clock so each call evaluates the schedule once.
    fake = [svc.store.get_schedule(s.id).next_fire_at]
    clock_module.set_clock(lambda: fake[0])
    polls = []
    scheduler = Scheduler(svc)  # its first poll loads the cursor from the store
    for _ in range(args.polls + 1):
        t0 = time.perf_counter()
        result = scheduler.run_pending()
        polls.append(time.perf_counter() - t0)
        assert result.evaluated == 1 and not result.runs, result
        fake[0] += timedelta(seconds=args.interval)
    clock_module.set_clock(None)
    first_poll, steady = polls[0], polls[1:]
    rss_growth = rss_mb() - rss0

    # Detect -> run on the real clock, with the scheduler thread polling.
    svc.store.update_schedule(s.id, next_fire_at=clock_module.now())
    scheduler = Scheduler(svc)
    scheduler.start()
    latencies = []
    try:
        for i in range(args.files):
            path = folder / f"new-{i}.csv"
            t0 = time.time()
            path.write_bytes(b"a,b\n3,4\n")
            rel = f"incoming/{path.name}"
            while True:
                page, _ = svc.store.list_runs(schedule_id=s.id, limit=5)
                if any(r.parameters["input_data"]["path"] == rel for r in page):
                    break
                time.sleep(0.005)
            latencies.append(time.time() - t0)
    finally:
        scheduler.stop()

    figures = {
        "files_in_folder": args.files_in_folder,
        "create_seconds": round(create_seconds, 3),
        "poll_median_seconds": round(statistics.median(steady), 3),
        "first_poll_seconds": round(first_poll, 3),
        "floor_scandir_seconds": round(min(floors), 3),
        "ratio_vs_floor": round(statistics.median(steady) / min(floors), 2),
        "rss_growth_mb": round(rss_growth, 1),
        "detect_to_run_median_seconds": round(statistics.median(latencies), 3),
        "detect_to_run_max_seconds": round(max(latencies), 3),
        "polling_interval_seconds": args.interval,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>30}: {value}")
    return 0 if statistics.median(steady) <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
