"""Scale-out on a Dask compute target: 64 independent 1 s steps on 1, 2 and 4 workers of 4 threads.

For each cluster size (a real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, started
for the measurement):

- headrace: a pipeline of 64 independent steps, each ``time.sleep(1)`` in its own process, all on the
  Dask target; timed from ``Experiment.submit`` to the return of ``wait_for_completion``. Efficiency =
  ideal / wall, ideal = 64 / (workers x 4) s. Goal >= 0.85.
- floor: the same 64 ``subprocess.run([python, "-c", "time.sleep(1)"])`` sent with a plain
  ``client.submit`` and gathered, on the same cluster. The per-step cost ratio is headrace's wall over
  the floor's (same steps, same slots). Goal <= 1.5x.
- one step alone (latency): a one-step pipeline against one ``client.submit`` of the same process,
  median of ``--repeat``; reported, no goal.

The cluster's scheduler hands a worker at most ``--worker-saturation`` x threads tasks of a queued task
group at a time (``distributed.scheduler.worker-saturation``, a deployment setting; Dask's default is 1.1).
The floor's 64 tasks are one group: with 1.1 a 4-thread worker holds a fifth, some worker ends with 17 and
runs a fifth wave alone (+1 s). 1.0 (the default here) spares the floor that; headrace's steps are each their
own group and go to the workers 16 each under either setting. Both run on the same cluster.

Artifacts and data: on the S3 emulator when ``HEADRACE_TEST_S3_ENDPOINT`` is set (as in the tests), else (or
with ``--storage local``) in local folders declared as mounted by every worker (they are: the workers run on
this machine). Each cluster is warmed by one fan-out first (interpreters, snapshot caches, connections).

Usage:
    python benchmarks/dask_scaleout.py [--steps 64] [--workers 1,2,4] [--threads 4] [--repeat 3]
                                       [--storage s3|local] [--worker-saturation 1.0] [--json]

Exit status 0 when every goal is met, 1 when one is missed. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dask"))

from dask_cluster import DaskCluster  # noqa: E402

SLEEP = "import time; time.sleep(1)\n"
EFFICIENCY_GOAL = 0.85
RATIO_GOAL = 1.5


def _sleep_process() -> int:
    return subprocess.run([sys.executable, "-c", SLEEP], check=True).returncode


def _workspace(root: Path, address: str, storage: str):
    from headrace import ComputeTarget, DaskCompute, Workspace

    endpoint = os.environ.get("HEADRACE_TEST_S3_ENDPOINT") if storage == "s3" else None
    mounted: list[str] = []
    if endpoint:
        import s3fs

        options = {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
        bucket = f"hr-bench-{uuid.uuid4().hex[:8]}"
        s3fs.S3FileSystem(**options).mkdir(bucket)
        os.environ["HEADRACE_ARTIFACTS_URI"] = f"s3://{bucket}/artifacts"
        os.environ["HEADRACE_ARTIFACTS_OPTIONS"] = json.dumps(options)
    else:
        mounted = [str(root)]
    ws = Workspace(root / f"home-{uuid.uuid4().hex[:6]}")
    ComputeTarget.attach(ws, "bench", DaskCompute.attach_configuration(address=address, mounted_paths=mounted))
    return ws, ("s3 emulator" if endpoint else "local folders (mounted_paths)")


def _pipeline(ws, src: Path, steps: int):
    from headrace import Pipeline, PythonScriptStep

    return Pipeline(workspace=ws, steps=[
        PythonScriptStep("sleep.py", name=f"s{i}", source_directory=str(src), compute_target="bench",
                         allow_reuse=False) for i in range(steps)])


def _headrace(ws, pipeline) -> float:
    from headrace import Experiment

    t0 = time.perf_counter()
    run = Experiment(ws, "scaleout").submit(pipeline)
    status = run.wait_for_completion(show_output=False, raise_on_error=False)
    wall = time.perf_counter() - t0
    if status != "Finished":
        raise SystemExit(f"run {run.id} ended {status}: {[s.error for s in run.get_steps() if s.error][:3]}")
    return wall


def _floor(client, steps: int) -> float:
    t0 = time.perf_counter()
    futures = [client.submit(_sleep_process, pure=False) for _ in range(steps)]
    client.gather(futures)
    return time.perf_counter() - t0


def measure(workers: int, threads: int, steps: int, repeat: int, root: Path, storage: str) -> dict:
    from distributed import Client

    cluster = DaskCluster(root / f"cluster-{workers}", workers=workers, threads=threads)
    try:
        ws, storage = _workspace(root, cluster.address, storage)
        src = root / "src"
        src.mkdir(exist_ok=True)
        (src / "sleep.py").write_text(SLEEP)
        fan = _pipeline(ws, src, steps)
        one = _pipeline(ws, src, 1)
        with Client(cluster.address, set_as_default=False) as client:
            client.submit(_sleep_process, pure=False).result()  # warm the workers' interpreters
            _headrace(ws, fan)  # and every worker's snapshot cache, the agent, the Dask connection
            walls = [_headrace(ws, fan) for _ in range(repeat)]
            floors = [_floor(client, steps) for _ in range(repeat)]
            single = [_headrace(ws, one) for _ in range(repeat)]
            single_floor = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                client.submit(_sleep_process, pure=False).result()
                single_floor.append(time.perf_counter() - t0)
    finally:
        cluster.stop()
    ideal = steps / (workers * threads)
    wall, floor = statistics.median(walls), statistics.median(floors)
    return {"workers": workers, "threads": threads, "steps": steps, "storage": storage, "ideal_s": ideal,
            "headrace_s": wall, "floor_s": floor, "efficiency": ideal / wall, "floor_efficiency": ideal / floor,
            "ratio": wall / floor, "single_step_s": statistics.median(single),
            "single_floor_s": statistics.median(single_floor)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--storage", choices=["s3", "local"], default="s3",
                        help="s3: the emulator at HEADRACE_TEST_S3_ENDPOINT (local when unset); local: mounted folders")
    parser.add_argument("--worker-saturation", type=float, default=1.0,
                        help="the scheduler's distributed.scheduler.worker-saturation (Dask's default: 1.1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for key in [k for k in os.environ if k.startswith("HEADRACE_") and not k.startswith("HEADRACE_TEST_")]:
        del os.environ[key]
    # Read by the scheduler the script starts (it inherits this environment).
    os.environ["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = str(args.worker_saturation)
    results = []
    with tempfile.TemporaryDirectory(prefix="hr-dask-bench-") as tmp:
        for n in (int(w) for w in args.workers.split(",")):
            results.append(measure(n, args.threads, args.steps, args.repeat, Path(tmp), args.storage))
    ok = all(r["efficiency"] >= EFFICIENCY_GOAL and r["ratio"] <= RATIO_GOAL for r in results)
    if args.json:
        print(json.dumps({"results": results, "worker_saturation": args.worker_saturation, "ok": ok}, indent=2))
    else:
        print(f"{args.steps} steps of 1 s, {args.threads} threads per worker, median of {args.repeat}; "
              f"storage: {results[0]['storage']}; worker-saturation {args.worker_saturation:g}")
        print("workers  ideal s  headrace s  eff.  floor s  floor eff.  headrace/floor  1 step s  1 submit s")
        for r in results:
            print(f"{r['workers']:>7}  {r['ideal_s']:7.2f}  {r['headrace_s']:10.2f}  {r['efficiency']:4.2f}  "
                  f"{r['floor_s']:7.2f}  {r['floor_efficiency']:10.2f}  {r['ratio']:13.2f}x  "
                  f"{r['single_step_s']:8.2f}  {r['single_floor_s']:10.2f}")
        print(f"goals: efficiency >= {EFFICIENCY_GOAL}, headrace/floor <= {RATIO_GOAL}x: "
              f"{'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
