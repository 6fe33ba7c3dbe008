"""A step task frees its worker's thread once its process ended, on a real Dask cluster (one thread per worker):
the worker runs its next task while the step's logs and outputs upload."""

from __future__ import annotations

from pathlib import Path

from dask_cluster import DaskCluster
from distributed import Client


def test_a_worker_runs_its_next_task_while_a_step_uploads(dask_cluster: DaskCluster, tmp_path: Path):
    # Defined here: sent by value (the workers cannot import this test module).
    def ended_step(flag: str) -> bool:
        """A step task's end as ``run_step`` lives it: its process ended (the target's hook), then storage
        work. True when another task ran on this one-thread worker meanwhile (it writes ``flag``)."""
        import time

        from headrace.engine import dask_worker

        dask_worker._slot.held = True  # as run_step sets it
        try:
            dask_worker._watch(-1, False)
            deadline = time.monotonic() + 30
            while not Path(flag).exists():  # "uploading": wait for the other task, bounded
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
            return True
        finally:
            dask_worker._slot.held = False

    def next_task(flag: str) -> None:
        Path(flag).write_text("ran")

    flag = str(tmp_path / "next-ran")
    with Client(dask_cluster.address, set_as_default=False) as client:
        worker = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "w0")
        ended = client.submit(ended_step, flag, workers=[worker], pure=False)
        other = client.submit(next_task, flag, workers=[worker], pure=False)
        assert ended.result(timeout=60) is True
        other.result(timeout=10)
