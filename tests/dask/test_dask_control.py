"""Cancel, timeouts and a worker killed mid-step, on a real Dask cluster."""

from __future__ import annotations

import os
import re

from dask_cluster import DaskCluster, make_dask_ws

from headrace import (
    ComputeTarget,
    DaskCompute,
    Datastore,
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
)

WAIT_FOR_FILE = """
import argparse, os, sys, time
p = argparse.ArgumentParser(); p.add_argument("--release"); p.add_argument("--out"); a = p.parse_args()
print("pid", os.getpid(), flush=True)
while not os.path.exists(a.release):
    time.sleep(0.05)
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "done.txt"), "w").write("done")
print("released", flush=True)
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid_of(step) -> int | None:
    found = re.search(r"pid (\d+)", step.get_stdout_log())
    return int(found.group(1)) if found else None


def _one_step(ws, src, release, target="cluster", **options):
    out = PipelineData("out", datastore=Datastore(ws, "lake"))
    step = PythonScriptStep(name="wait", script_name="wait.py", source_directory=str(src),
                            arguments=["--release", str(release), "--out", out], outputs=[out],
                            compute_target=target, allow_reuse=False, **options)
    return Experiment(ws, "control").submit(Pipeline(workspace=ws, steps=[step]))


def test_cancel_kills_the_process_on_the_worker(dask_ws, write_scripts, tmp_path, wait_until):
    src = write_scripts({"wait.py": WAIT_FOR_FILE})
    run = _one_step(dask_ws, src, tmp_path / "never")
    step = wait_until(lambda: next(iter(run.get_steps()), None), message="the step run")
    pid = wait_until(lambda: _pid_of(step), timeout=60, message="the step's pid in its live stdout")
    run.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"
    wait_until(lambda: not _pid_alive(pid), message=f"step process {pid} killed")
    assert "canceled" in step.get_execution_log()


def test_a_timeout_kills_the_process_and_fails_the_step(dask_ws, write_scripts, tmp_path, wait_until):
    src = write_scripts({"wait.py": WAIT_FOR_FILE})
    run = _one_step(dask_ws, src, tmp_path / "never", timeout_seconds=2)
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    [step] = run.get_steps()
    assert "timed out after 2" in step.error
    pid = _pid_of(step)
    assert pid is not None and not _pid_alive(pid)


def test_a_worker_killed_mid_step_is_retried_elsewhere(tmp_path, write_scripts, monkeypatch, wait_until):
    cluster = DaskCluster(tmp_path / "killable", workers=2, threads=1)
    try:
        ws = make_dask_ws(tmp_path / "home", cluster.address, monkeypatch)
        src = write_scripts({"wait.py": WAIT_FOR_FILE})
        release = tmp_path / "release"
        run = _one_step(ws, src, release)
        step = wait_until(lambda: next(iter(run.get_steps()), None), message="the step run")
        pid = wait_until(lambda: _pid_of(step), timeout=60, message="the step's pid in its live stdout")
        address = wait_until(lambda: re.findall(r"Dask worker (tcp://\S+)", step.get_execution_log()),
                             message="the worker in the live execution log")[0]
        cluster.kill(cluster.worker_of(address))
        wait_until(lambda: not _pid_alive(pid), message="the step process of the dead worker killed by its watchdog")
        release.touch()
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", step.error
        log = step.get_execution_log()
        assert "attempt 2" in log and address in log, log
        assert "released" in step.get_stdout_log()
        assert Datastore(ws, "lake").list(f"headrace/runs/{run.id}/wait/out")

        # With retries=0 the step fails when its worker dies; the attempt the scheduler starts elsewhere is
        # stopped, and the run says why.
        cluster.add_worker("w2")
        cluster.wait_workers(2)
        ComputeTarget.attach(ws, "no-retry", DaskCompute.attach_configuration(address=cluster.address, retries=0))
        release2 = tmp_path / "release2"
        run = _one_step(ws, src, release2, target="no-retry")
        step = wait_until(lambda: next(iter(run.get_steps()), None), message="the step run")
        wait_until(lambda: _pid_of(step), timeout=60, message="the step's pid in its live stdout")
        address = wait_until(lambda: re.findall(r"Dask worker (tcp://\S+)", step.get_execution_log()),
                             message="the worker in the live execution log")[0]
        cluster.kill(cluster.worker_of(address))
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
        assert "died 1 times" in step.error and "retries (0) exhausted" in step.error, step.error
        assert "attempt lost: worker " + address in step.get_execution_log()
    finally:
        cluster.stop()
