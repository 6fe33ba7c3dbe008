"""What logging with the real ``mlflow`` client costs in headrace, against floors measured in the same run.

    .venv/bin/python benchmarks/mlflow_logging.py [--n 300] [--step-n 3000]

- ``server``: ``n`` calls of ``MlflowClient.log_metric`` against a headrace server on loopback (uvicorn in a
  thread, auth on), against the floor of ``n`` authenticated ``GET /api/v1/runs/{id}`` round trips on the same
  server (one HTTP call, a token check and one store read: what any logging call costs at least).
- ``embedded``: ``n`` calls of ``mlflow.log_metric`` on an embedded workspace (``ws.get_mlflow_tracking_uri()``,
  no server), against ``n`` one-value ``store.add_metrics`` calls on the same store.
- ``step``: a step script logging ``step-n`` values with ``mlflow.log_metric``, against the same script
  logging them with ``Run.get_context().log`` (headrace's own in-step logging).
Prints each figure and its ratio to the floor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

MLFLOW_STEP = """
import sys, mlflow
for i in range(int(sys.argv[1])):
    mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
"""
HEADRACE_STEP = """
import sys
from headrace import Run
run = Run.get_context()
for i in range(int(sys.argv[1])):
    run.log("loss", 1.0 / (i + 1))
"""


def server(home: Path, n: int) -> tuple[float, float]:
    from mlflow import MlflowClient

    from headrace.config import load_settings
    from headrace.server.app import create_app
    from headrace.services import mlflow_tracking, tokens
    from headrace.wiring import build_services
    from loopback import serve_in_thread

    svc = build_services(load_settings(home=home))
    secret = tokens.create_token(svc, "submitter", name="bench")[0]
    with serve_in_thread(create_app(svc)) as url:
        import os

        os.environ["MLFLOW_TRACKING_TOKEN"] = secret
        client = MlflowClient(tracking_uri=url)
        run_id = client.create_run(client.create_experiment("bench-server")).info.run_id
        client.log_metric(run_id, "warm", 0.0)
        t0 = time.perf_counter()
        for i in range(n):
            client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
        took = time.perf_counter() - t0
        assert len(mlflow_tracking.metric_history(svc, run_id, "loss")) == n
        with httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {secret}"}) as http:
            http.get(f"/runs/{run_id}")
            t0 = time.perf_counter()
            for _ in range(n):
                http.get(f"/runs/{run_id}").raise_for_status()
            floor = time.perf_counter() - t0
    svc.store.close()
    return took, floor


def embedded(home: Path, n: int) -> tuple[float, float]:
    import mlflow

    from headrace import Workspace, clock
    from headrace.storage.records import MetricRecord

    ws = Workspace(home)
    mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())
    mlflow.set_experiment("bench-embedded")
    with mlflow.start_run() as run:
        mlflow.log_metric("warm", 0.0)
        t0 = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        took = time.perf_counter() - t0
    store = ws._backend.svc.store
    t0 = time.perf_counter()
    for i in range(n):
        store.add_metrics([MetricRecord(run.info.run_id, None, "floor", 1.0, "scalar", i, clock.now())])
    floor = time.perf_counter() - t0
    return took, floor


def step(home: Path, folder: Path, n: int) -> tuple[float, float]:
    from headrace import Experiment, Pipeline, PythonScriptStep, Workspace

    ws = Workspace(home)
    (folder / "with_mlflow.py").write_text(MLFLOW_STEP)
    (folder / "with_headrace.py").write_text(HEADRACE_STEP)

    def timed(script: str, count: int) -> float:
        s = PythonScriptStep(name="log", script_name=script, source_directory=str(folder), arguments=[count],
                             allow_reuse=False)
        t0 = time.perf_counter()
        run = Experiment(ws, "bench-step").submit(Pipeline(ws, [s]))
        assert run.wait_for_completion(show_output=False) == "Finished"
        took = time.perf_counter() - t0
        assert len(run.find_step_run("log")[0].get_metrics().get("loss", [])) == count
        return took

    timed("with_headrace.py", 2)  # warm the agent and the step interpreter
    return timed("with_mlflow.py", n), timed("with_headrace.py", n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--step-n", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        took, floor = server(root / "server-home", args.n)
        print(f"server    {args.n} x log_metric: {took:.3f} s ({took / args.n * 1000:.2f} ms each); floor "
              f"{floor:.3f} s ({floor / args.n * 1000:.2f} ms each); ratio {took / floor:.2f}x")
        took, floor = embedded(root / "home", args.n)
        print(f"embedded  {args.n} x log_metric: {took:.3f} s ({took / args.n * 1000:.2f} ms each); floor "
              f"{floor:.3f} s ({floor / args.n * 1000:.2f} ms each); ratio {took / floor:.2f}x")
        took, floor = step(root / "home", root / "src", args.step_n)
        print(f"step      {args.step_n} values: mlflow {took:.3f} s; Run.get_context().log {floor:.3f} s; "
              f"ratio {took / floor:.2f}x")


if __name__ == "__main__":
    main()
