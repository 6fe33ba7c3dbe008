"""Shared setup for the REST benchmarks: a throwaway home with a one-step published pipeline,
served by a real ``headrace server`` subprocess on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

STEP = """\
import os, sys, time
stamp = time.time()
out = os.environ.get("BENCH_STAMPS")
if out:  # written then renamed, so a reader never sees an empty stamp
    path = os.path.join(out, os.environ["HEADRACE_RUN_ID"])
    with open(path + ".tmp", "w") as f:
        f.write(repr(stamp))
    os.replace(path + ".tmp", path)
"""


def read_stamp(path: Path, timeout: float = 30.0) -> float:
    """The time a step wrote to ``path`` (its first line ran then), waiting up to ``timeout`` seconds for it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return float(path.read_text())
        except (FileNotFoundError, ValueError):  # not written yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"no start time in {path} after {timeout} s") from None
            time.sleep(0.0005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchServer:
    """A home with a published one-step pipeline, and a server process over it."""

    def __init__(self, db_url: str | None = None, agent: bool = True, parallel: int | None = None,
                 workers: int = 1):
        self.tmp = Path(tempfile.mkdtemp(prefix="headrace-bench-"))
        self.home = self.tmp / "home"
        self.stamps = self.tmp / "stamps"
        self.stamps.mkdir()
        self.env = dict(os.environ, HEADRACE_HOME=str(self.home), BENCH_STAMPS=str(self.stamps),
                        HEADRACE_AGENT__IN_PROCESS="false")
        if parallel:
            self.env["HEADRACE_AGENT__MAX_PARALLEL_STEPS"] = str(parallel)
        if db_url:
            self.env["HEADRACE_DB_URL"] = db_url
        self.pipeline_id = self._publish()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "headrace", "server", "--home", str(self.home), "--port", str(self.port)]
        if not agent:
            args.append("--no-agent")
        if workers > 1:
            args += ["--workers", str(workers)]
        self.log = open(self.tmp / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_healthy()
        self.token = json.loads((self.home / "config.json").read_text())["token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def _publish(self) -> str:
        code = f"""
import os
from pathlib import Path
from headrace import Workspace, Pipeline, PythonScriptStep, PipelineParameter
src = Path({str(self.tmp)!r}) / "steps"; src.mkdir(exist_ok=True)
(src / "noop.py").write_text({STEP!r})
ws = Workspace({str(self.home)!r})
n = PipelineParameter(name="n", default_value=1)
step = PythonScriptStep(name="noop", script_name="noop.py", source_directory=str(src), arguments=["--n", n],
                        allow_reuse=False)
print(Pipeline(workspace=ws, steps=[step]).publish(name="bench", version="1").id)
"""
        out = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.tmp / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become healthy in 60 s")

    @property
    def submit_url(self) -> str:
        return f"{self.url}/api/v1/pipelines/{self.pipeline_id}/submit"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
