"""A real Dask cluster on 127.0.0.1 for tests: ``dask scheduler`` and ``dask worker`` processes.

Ephemeral ports (the scheduler writes its address to a scheduler file), no dashboards, each worker
with its own working folder and no nanny (``kill -9`` of a worker's pid really ends that worker).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

START_SECONDS = 90.0


class DaskCluster:
    """A scheduler and its workers ``w0``, ``w1``... started in ``folder``; ``stop()`` ends them all.

    ``resources`` maps a worker's name to the Dask resources it declares (``"GPU=1"``).
    """

    def __init__(self, folder: Path, workers: int = 2, threads: int = 1, resources: dict[str, str] | None = None):
        self.folder = folder
        self.threads = threads
        self.resources = dict(resources or {})
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = folder / "scheduler.json"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
        self.env = env
        self.scheduler = self._spawn("scheduler", [
            "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", ":0", "--no-show", "--scheduler-file", str(self.scheduler_file)])
        self.address = self._wait_address()
        for i in range(workers):
            self.add_worker(f"w{i}")
        self.wait_workers(workers)

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        """Start worker ``name`` (its own folder ``folder/name``)."""
        workdir = self.folder / name
        workdir.mkdir(exist_ok=True)
        args = ["-m", "distributed.cli.dask_worker", self.address, "--name", name, "--nthreads", str(self.threads),
                "--no-nanny", "--host", "127.0.0.1", "--local-directory", str(workdir), "--no-dashboard"]
        if name in self.resources:
            args += ["--resources", self.resources[name]]
        proc = self.workers[name] = self._spawn(name, args)
        return proc

    def wait_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_SECONDS, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_SECONDS)

    def worker_of(self, address: str) -> str:
        """The name of the worker listening at ``address``."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            info = client.scheduler_info(n_workers=-1)["workers"]
        return info[address]["name"]

    def kill(self, name: str) -> None:
        """``kill -9`` worker ``name``."""
        proc = self.workers.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers.values(), self.scheduler]:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for proc in self.procs:
            if proc.stdout is not None:
                proc.stdout.close()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process's life
        proc = subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                stdin=subprocess.DEVNULL, cwd=self.folder)
        log.close()
        self.procs.append(proc)
        return proc

    def _wait_address(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {(self.folder / 'scheduler.log').read_text()[-2000:]}")
            try:
                return json.loads(self.scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        raise RuntimeError("dask scheduler did not write its address in time")


S3_ENDPOINT = os.environ.get("HEADRACE_TEST_S3_ENDPOINT")
S3_OPTIONS = {"endpoint_url": S3_ENDPOINT, "key": "testing", "secret": "testing"}


def need_s3() -> None:
    if not S3_ENDPOINT:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("no S3 emulator: run the tests through scripts/test.sh (it starts one)")
        pytest.skip("HEADRACE_TEST_S3_ENDPOINT unset (scripts/emulators.sh)")


def new_bucket() -> str:
    import s3fs

    bucket = f"hr-dask-{uuid.uuid4().hex[:10]}"
    s3fs.S3FileSystem(**S3_OPTIONS).mkdir(bucket)
    return bucket


def make_dask_ws(home: Path, address: str, monkeypatch: pytest.MonkeyPatch, **attach: object):
    """A workspace on ``home`` with artifacts and the ``lake`` datastore on S3 and target ``cluster``."""
    from headrace import ComputeTarget, DaskCompute, Datastore, Workspace

    need_s3()
    bucket = new_bucket()
    monkeypatch.setenv("HEADRACE_ARTIFACTS_URI", f"s3://{bucket}/artifacts")
    monkeypatch.setenv("HEADRACE_ARTIFACTS_OPTIONS", json.dumps(S3_OPTIONS))
    if "HEADRACE_AGENT__MAX_PARALLEL_STEPS" not in os.environ:
        monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "2")
    ws = Workspace(home)
    Datastore.register_s3(ws, "lake", bucket, prefix="lake", endpoint_url=S3_ENDPOINT, key="testing",
                          secret="testing")
    ComputeTarget.attach(ws, "cluster", DaskCompute.attach_configuration(address=address, **attach))
    return ws
