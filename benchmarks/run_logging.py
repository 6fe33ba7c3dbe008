"""The Run API's logging cost: ``run.log`` on an interactive run, and values logged inside a script run.

    .venv/bin/python benchmarks/run_logging.py [--n 500] [--script-n 5000]

- ``interactive``: ``n`` calls of ``run.log`` on an embedded interactive run, against the floor of ``n``
  one-value ``store.add_metrics`` calls on the same store (what one logged value must cost at least).
- ``script``: a script run logging ``script-n`` values through ``Run.get_context()``, against the same script
  logging nothing (what its values add to a run).
Prints each figure and its ratio to the floor measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from headrace import Experiment, ScriptRunConfig, Workspace
from headrace.storage.records import MetricRecord

SCRIPT = """
import sys
from headrace import Run
run = Run.get_context()
for i in range(int(sys.argv[1])):
    run.log("loss", 1.0 / (i + 1))
"""


def interactive(ws: Workspace, n: int) -> tuple[float, float]:
    run = Experiment(ws, "bench-interactive").start_logging()
    t0 = time.perf_counter()
    for i in range(n):
        run.log("loss", 1.0 / (i + 1))
    took = time.perf_counter() - t0
    run.complete()
    floor_run = Experiment(ws, "bench-floor").start_logging()
    store = ws._backend.svc.store
    t0 = time.perf_counter()
    for i in range(n):
        store.add_metrics([MetricRecord(floor_run.id, None, "loss", 1.0 / (i + 1), "scalar", i, floor_run._record.created_at)])
    floor = time.perf_counter() - t0
    floor_run.complete()
    return took, floor


def script(ws: Workspace, folder: Path, n: int) -> tuple[float, float]:
    (folder / "log.py").write_text(SCRIPT)
    exp = Experiment(ws, "bench-script")

    def timed(count: int) -> float:
        t0 = time.perf_counter()
        run = exp.submit(ScriptRunConfig(str(folder), "log.py", arguments=[count]))
        run.wait_for_completion()
        took = time.perf_counter() - t0
        assert len(run.get_metrics().get("loss", [])) == count or count == 0
        return took

    timed(0)  # warm up the agent and the step interpreter
    return timed(n), min(timed(0) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--script-n", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "home")
        took, floor = interactive(ws, args.n)
        print(f"interactive: {args.n} run.log calls {took:.3f} s ({took / args.n * 1000:.2f} ms each); "
              f"floor {floor:.3f} s; ratio {took / floor:.2f}x")
        (Path(tmp) / "src").mkdir()
        took, floor = script(ws, Path(tmp) / "src", args.script_n)
        print(f"script: run logging {args.script_n} values {took:.3f} s; same run logging none {floor:.3f} s; "
              f"ratio {took / floor:.2f}x")


if __name__ == "__main__":
    main()
