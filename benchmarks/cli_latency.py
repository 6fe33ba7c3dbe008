"""CLI start-up: how long a ``headrace`` command takes from exec to exit, against a bare interpreter.

Scripts and CI call the CLI in loops, so its fixed cost matters. Each case runs the installed
``headrace`` console script as a new process, interleaved with the floor (``python -c pass``, the
same interpreter) so drift of the machine hits both alike; median of ``--repeat`` runs (10).

Cases: ``headrace --help``; ``headrace run list`` (the default 50 rows, as a table) and
``headrace run list --json`` on a home holding ``--runs`` runs (10,000), its schema current.
Goals (issue 12): ``--help`` <= 0.15 s, ``run list`` <= 0.3 s (medians of the wall time). The CPU
time each command used (user + system, median) is printed too: on a busy machine it moves much less
than the wall time. ``--src DIR`` times another checkout's sources (put first on ``PYTHONPATH``),
e.g. the previous version, with this environment's packages.

    .venv/bin/python benchmarks/cli_latency.py [--repeat 10] [--runs 10000] [--src DIR] [--json]

Exit status 0 when every goal is met, 1 when one is missed. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

GOALS = {"headrace --help": 0.15, "headrace run list": 0.3}


def fill_home(home: Path, count: int) -> None:
    """``count`` finished runs in ``home``'s store, written in one transaction (the CLI only reads them)."""
    from headrace.config import load_settings
    from headrace.storage.records import RunRecord, RunStatus
    from headrace.storage.sql import runs as sql_runs
    from headrace.wiring import open_store

    store = open_store(load_settings(home=home))  # creates and migrates the home, as a first command would
    experiment = store.get_or_create_experiment("bench")
    pipeline = store.get_or_create_pipeline("bench-pipeline", {"steps": []})
    start = datetime.now(UTC) - timedelta(days=1)
    with store._write() as conn:
        for i in range(count):
            created = start + timedelta(seconds=i)
            run = RunRecord(id=str(uuid.uuid4()), experiment_id=experiment.id, experiment_name=experiment.name,
                            pipeline_id=pipeline.id, status=RunStatus.FINISHED, created_at=created,
                            parameters={"i": i}, started_at=created, ended_at=created + timedelta(seconds=1))
            sql_runs.insert_run(conn, run, [])
    store.close()


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--runs", type=int, default=10_000, help="runs in the listed home")
    ap.add_argument("--src", type=Path, help="time the headrace sources in this folder instead")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    script = Path(sys.executable).with_name("headrace")
    if not script.exists():
        raise SystemExit(f"no console script at {script}: run scripts/setup.sh")
    with tempfile.TemporaryDirectory(prefix="headrace-cli-") as tmp:
        home = Path(tmp) / "home"
        fill_home(home, args.runs)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
        env.update(HEADRACE_HOME=str(home), COLUMNS="200")
        if args.src:
            env["PYTHONPATH"] = os.pathsep.join([str(args.src.resolve()), *filter(None, [env.get("PYTHONPATH")])])
        cases = {
            "floor: python -c pass": [sys.executable, "-c", "pass"],
            "headrace --help": [str(script), "--help"],
            "headrace run list": [str(script), "run", "list"],
            "headrace run list --json": [str(script), "run", "list", "--json"],
        }
        listed = subprocess.run([str(script), "run", "list", "--json"], env=env, capture_output=True, text=True)
        if listed.returncode != 0 or len(json.loads(listed.stdout)) != min(50, args.runs):
            raise SystemExit(f"run list did not list the home's runs: {listed.stderr}")
        for argv in cases.values():  # warm-up: the page cache, the pyc files
            timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                wall, used = timed(argv, env)
                samples[name].append(wall)
                cpu[name].append(used)

    floor = statistics.median(samples["floor: python -c pass"])
    rows = {}
    for name, values in samples.items():
        median = statistics.median(values)
        goal = GOALS.get(name)
        rows[name] = {"median_s": median, "best_s": min(values), "ratio_to_floor": median / floor,
                      "cpu_median_s": statistics.median(cpu[name]), "all_s": values,
                      "goal_s": goal, "met": None if goal is None else median <= goal}
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "repeat": args.repeat, "runs": args.runs,
              "src": str(args.src) if args.src else None,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_1min": os.getloadavg()[0]},
              "cases": rows}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"CLI start-up, median of {args.repeat}; home with {args.runs} runs; cpus={os.cpu_count()} "
              f"python={platform.python_version()} load={report['machine']['load_1min']:.1f} ({report['date']})")
        print(f"{'command':<28}{'median':>9}{'best':>9}{'x floor':>9}{'cpu med':>9}  goal")
        for name, r in rows.items():
            verdict = "" if r["goal_s"] is None else f"<= {r['goal_s']} s {'met' if r['met'] else 'MISSED'}"
            print(f"{name:<28}{r['median_s']:>8.3f}s{r['best_s']:>8.3f}s{r['ratio_to_floor']:>8.1f}x"
                  f"{r['cpu_median_s']:>8.3f}s  {verdict}")
    return 0 if all(r["met"] is not False for r in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
