"""One further node of a ParallelRunStep on a Dask worker: ``run_node`` (the Dask task) and its worker processes.

The task unpacks the entry script's folder (sent as a zip: no shared filesystem) under the Dask worker's
local directory, connects to the driver (``multiprocessing.connection``, the run's random authkey) and
starts worker processes when the driver asks (``("start", token, index)``), kills one on
``("kill", token)``, and ends with the connection: at ``None`` it lets its processes finish
(``shutdown()``), at a lost connection it kills them. It forwards each process's output lines
(``("out", text)``) and exit (``("exited", token, code, last lines)``) to the driver.

Each worker process (``python -m headrace.sdk.parallel.node``) reads its settings from stdin, connects to
the driver, names itself by its token and runs ``worker.serve``: the protocol of local workers. It exits
when stdin closes, that is when its node task or Dask worker dies, so a killed machine leaves no worker
running for nobody.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections import deque
from dataclasses import replace
from multiprocessing.connection import Client
from pathlib import Path
from typing import Any

from headrace.engine.compute import ENV_CONTEXT_DIR, ENV_ENVIRONMENT_SPEC, ENV_REMOTE_NODE
from headrace.sdk.parallel.worker import ENV_OUTPUT, WorkerSpec, serve

STOP_SECONDS = 30.0
"""How long a node waits for its processes to finish ``shutdown()`` when the run ends."""


def run_node(payload: dict[str, Any]) -> dict[str, Any]:
    """The Dask task of node ``payload["node"]``; returns what it did (for the Dask dashboard)."""
    from distributed import get_worker

    worker = get_worker()
    number = int(payload["node"])
    root = Path(tempfile.mkdtemp(prefix=f"parallel-node{number}-", dir=worker.local_directory))
    try:
        src = root / "src"
        with zipfile.ZipFile(io.BytesIO(payload["source"])) as archive:
            archive.extractall(src)
        (root / "output").mkdir()
        lines: list[str] = []
        python = _python(payload["env"], Path(worker.local_directory), lines)
        conn = Client(tuple(payload["address"]), authkey=payload["authkey"])
        node = _Node(conn, number, _spec(payload, src, root), src, _env(payload, root),
                     {"address": payload["address"], "authkey": payload["authkey"]}, python)
        conn.send(("node", number, {"worker": worker.address, "host": socket.gethostname(),
                                    "pid": os.getpid(), "folder": str(root)}))
        for line in lines:
            node.send(("out", f"[parallel_run] node {number}: {line}"))
        started = node.serve()
        return {"node": number, "worker": worker.address, "processes": started}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _python(env: dict[str, str], local_directory: Path, log: list[str]) -> str:
    """The interpreter of the step's environment on this machine (built once per machine, where the Dask target
    builds step environments: ``engine.dask_worker``), or the worker's own when the step has none.

    Raises:
        EnvironmentBuildError: the environment does not build here (the task fails; the driver logs it).
    """
    spec = env.get(ENV_ENVIRONMENT_SPEC)
    if not spec:
        return sys.executable
    from headrace.engine import environments

    return str(environments.ensure(json.loads(spec), local_directory.parent / "headrace-environments", log))


def _spec(payload: dict[str, Any], src: Path, root: Path) -> WorkerSpec:
    spec: WorkerSpec = payload["spec"]
    # No shared disk: what the script writes to EntryScript().output_dir stays on this node.
    return replace(spec, entry_path=str(src / payload["entry"]),
                   environment={**spec.environment, ENV_OUTPUT: str(root / "output")})


def _env(payload: dict[str, Any], root: Path) -> dict[str, str]:
    env = {**os.environ, **payload["env"]}
    # A folder of this machine: the agent never reads it (Model.get_model_path() says so: ENV_REMOTE_NODE).
    env.update({"PYTHONUNBUFFERED": "1", ENV_CONTEXT_DIR: str(root), ENV_REMOTE_NODE: "1"})
    return env


class _Node:
    """The node's side of its control connection: starts, kills and reports its worker processes."""

    def __init__(self, conn: Any, number: int, spec: WorkerSpec, src: Path, env: dict[str, str],
                 connect: dict[str, Any], python: str):
        self.conn = conn
        self.number = number
        self.spec = spec
        self.src = src
        self.env = env
        self.connect = connect  # the driver's address and authkey, for the worker processes
        self.python = python
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.readers: list[threading.Thread] = []
        self.lock = threading.Lock()

    def send(self, message: Any) -> None:
        with self.lock, contextlib.suppress(OSError):
            self.conn.send(message)

    def serve(self) -> int:
        graceful = False
        try:
            while True:
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):  # the driver is gone (or killed its step): stop at once
                    break
                if message is None:
                    graceful = True
                    break
                if message[0] == "start":
                    self._start(message[1], message[2])
                elif message[0] == "kill" and message[1] in self.children:
                    self.children[message[1]].kill()
        finally:
            self._stop(graceful)
        return len(self.children)

    def _start(self, token: str, index: int) -> None:
        proc = subprocess.Popen([self.python, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, cwd=self.src, env=self.env)
        assert proc.stdin is not None
        pickle.dump({**self.connect, "token": token, "node": self.number, "index": index, "spec": self.spec}, proc.stdin)
        proc.stdin.flush()  # kept open: its end tells the process that this node is gone
        self.children[token] = proc
        reader = threading.Thread(target=self._relay, args=(token, proc), daemon=True,
                                  name=f"parallel-node{self.number}-{index}")
        reader.start()
        self.readers.append(reader)

    def _relay(self, token: str, proc: subprocess.Popen[bytes]) -> None:
        tail: deque[str] = deque(maxlen=20)
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            tail.append(line)
            self.send(("out", line))
        self.send(("exited", token, proc.wait(), "\n".join(tail)))

    def _stop(self, graceful: bool) -> None:
        for proc in self.children.values():
            if not graceful:
                proc.kill()
        for proc in self.children.values():
            try:
                proc.wait(STOP_SECONDS if graceful else 10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
        for reader in self.readers:
            reader.join(10)
        with contextlib.suppress(OSError):
            self.conn.close()


def _exit_with_node() -> None:
    sys.stdin.buffer.read()  # returns at end of input: the node task (or its Dask worker) is gone
    os._exit(70)


def main() -> None:
    """A worker process of a node: connect to the driver, then serve mini-batches."""
    payload = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_exit_with_node, daemon=True).start()
    conn = Client(tuple(payload["address"]), authkey=payload["authkey"])
    conn.send(("worker", payload["token"]))
    serve(conn, payload["spec"], payload["node"], payload["index"])


if __name__ == "__main__":
    main()
