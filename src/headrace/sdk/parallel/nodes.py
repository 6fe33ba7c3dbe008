"""The driver's side of further nodes on Dask workers (a ParallelRunStep with ``node_count`` > 1 on Dask).

The driver's own machine (the Dask worker that runs the step) is node 0: its processes are forked as on
the local target. Nodes 1..n-1 are Dask tasks (``node.run_node``), one per node, each asked of a different
worker than the step's while there are enough (else spread evenly; ``allow_other_workers`` lets the
scheduler move a node whose worker left). Each task gets the step's source folder as a zip and connects
back to a ``multiprocessing.connection.Listener`` the driver opens on its worker's host (random authkey per
run). Its worker processes connect to the same listener and speak the pipe protocol of local workers, so
``WorkerPool`` waits on every connection at once, in one loop.

Connections arrive on a thread (``accept`` blocks) and reach the loop through an inbox and a wake-up pipe.
A node whose control connection closes is lost (its Dask worker died): its workers' mini-batches go to the
other nodes. A node that never starts (no free worker thread) simply never takes a mini-batch. Node tasks ask
the step's Dask resources (``HEADRACE_DASK_RESOURCES``, set by the Dask target) and go only to workers
declaring them.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import queue
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Listener
from typing import Any

from headrace import clock
from headrace.core.parallel_run import DRIVER_SCRIPT
from headrace.core.resources import describe, fits
from headrace.engine.compute import ENV_DASK_RESOURCES
from headrace.sdk.parallel.worker import WorkerSpec

CONNECT_SECONDS = 30.0
"""How long the driver waits for the Dask scheduler before it runs every node on its own machine."""

STOP_SECONDS = 40.0
"""How long the driver waits for its nodes to end when the run ends (their processes call ``shutdown()``)."""

# Variables of the driver's environment that describe its machine, not the step: a node keeps its own.
_MACHINE_VARS = {"PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "HOME", "PWD", "OLDPWD", "SHLVL", "_", "TMPDIR",
                 "TEMP", "TMP", "HOSTNAME", "USER", "LOGNAME", "SHELL", "DASK_SCHEDULER_ADDRESS"}


@dataclass(eq=False)
class RemoteNode:
    """A node that connected: its control connection and where it runs."""

    number: int
    conn: Any
    where: str
    alive: bool = True
    sent_at: float = 0.0  # clock.monotonic() when its task was submitted

    def send(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except OSError:  # lost: its end of the connection is seen as closed by the loop
            self.alive = False

    def start(self, index: int) -> str:
        """Ask for worker process ``index``; returns the token it will connect with."""
        token = uuid.uuid4().hex
        self.send(("start", token, index))
        return token


@dataclass(eq=False)
class RemoteProcess:
    """A worker process on a node, as ``WorkerPool`` handles a local ``multiprocessing.Process``."""

    node: RemoteNode
    token: str
    exitcode: int | None = None

    def is_alive(self) -> bool:
        return self.exitcode is None and self.node.alive

    def kill(self) -> None:
        self.node.send(("kill", self.token))

    def join(self, timeout: float | None = None) -> None:
        """Nothing to wait for here: the node reaps its processes and reports their exit."""


def host_of(address: str) -> str:
    """The host of a Dask address (``tcp://10.0.0.5:40001`` -> ``10.0.0.5``)."""
    rest = address.split("://", 1)[-1]
    host = rest.rsplit(":", 1)[0] if ":" in rest else rest
    return host.strip("[]")


def zip_source(entry_path: str) -> tuple[bytes, str]:
    """The step's source folder (the one holding the generated driver, above the entry script) as a zip, and the
    entry script's path inside it."""
    root = folder = os.path.dirname(os.path.abspath(entry_path))
    while not os.path.isfile(os.path.join(folder, DRIVER_SCRIPT)) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    if os.path.isfile(os.path.join(folder, DRIVER_SCRIPT)):
        root = folder
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for base, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(names):
                path = os.path.join(base, name)
                archive.write(path, os.path.relpath(path, root))
    return buffer.getvalue(), os.path.relpath(os.path.abspath(entry_path), root)


class DaskNodes:
    """Nodes 1..``count`` of a run, as Dask tasks; see the module docstring.

    Args:
        scheduler: the Dask scheduler's address.
        own_worker: the address of the worker running the driver (its host is where the driver listens).
        log: the driver's ``log(level, text)``.
    """

    def __init__(self, scheduler: str, own_worker: str, log: Callable[[int, str], None]):
        self.scheduler = scheduler
        self.own_worker = own_worker
        self.log = log
        self.authkey = os.urandom(32)
        # The step's resources (its target's and its own): each node task holds them on its worker too.
        self.resources: dict[str, float] = json.loads(os.environ.get(ENV_DASK_RESOURCES) or "{}")
        self.listener = Listener((host_of(own_worker), 0), "AF_INET", authkey=self.authkey)
        self.client: Any = None
        self.futures: dict[int, Any] = {}
        self.nodes: dict[Any, RemoteNode] = {}  # by control connection
        self.started: set[int] = set()
        self.sent_at: dict[int, float] = {}
        self._inbox: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._closed = False
        threading.Thread(target=self._accept, name="parallel-run-accept", daemon=True).start()

    def start(self, count: int, spec: WorkerSpec) -> int:
        """Submit ``count`` node tasks; returns how many were sent (0: no other worker, or no scheduler)."""
        from distributed import Client

        from headrace.sdk.parallel.node import run_node

        try:
            self.client = Client(self.scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
            info = self.client.scheduler_info(n_workers=-1)["workers"]
        except (OSError, TimeoutError) as exc:
            self.log(30, f"cannot reach the Dask scheduler at {self.scheduler} ({exc}): every node runs on this worker")
            return 0
        others = self._fitting({w: dict(i.get("resources") or {}) for w, i in info.items() if w != self.own_worker},
                               count)
        if not others:
            return 0
        source, entry = zip_source(spec.entry_path)
        env = {k: v for k, v in os.environ.items() if k not in _MACHINE_VARS}
        common = {"address": self.listener.address, "authkey": self.authkey, "spec": spec, "entry": entry,
                  "source": source, "env": env}
        run = uuid.uuid4().hex[:8]
        for number in range(1, count + 1):
            worker = others[(number - 1) % len(others)]
            future = self.client.submit(run_node, {**common, "node": number}, key=f"headrace-parallel-{run}-node{number}",
                                        workers=[worker], allow_other_workers=True, pure=False,
                                        resources=self.resources or None)
            future.add_done_callback(lambda f, n=number: self._post(("task_done", n, f)))
            self.futures[number] = future
            self.sent_at[number] = clock.monotonic()
            self.log(20, f"node {number} sent to Dask worker {worker} ({len(source)} bytes of source)"
                     + (f", resources {describe(self.resources)}" if self.resources else ""))
        return count

    def _fitting(self, others: dict[str, dict[str, float]], count: int) -> list[str]:
        """The other workers a node may go to (those declaring the step's resources), sorted; logs why none."""
        if not others:
            self.log(30, f"the Dask cluster has no worker besides this one ({self.own_worker}): every node runs here")
            return []
        fitting = sorted(w for w, declared in others.items() if fits(self.resources, declared))
        wanted = describe(self.resources)
        if not fitting:
            offered = "; ".join(f"{w}: {describe(d) or 'none'}" for w, d in sorted(others.items()))
            self.log(30, f"no other Dask worker declares the step's resources {wanted} ({offered}): every node "
                     "runs on this worker")
        elif len(fitting) < count:
            self.log(30, f"only {len(fitting)} other Dask worker(s) declare the step's resources {wanted}: "
                     f"{count - len(fitting)} node(s) wait for one of them to be free")
        return fitting

    # -- the loop's side ---------------------------------------------------------------
    def waitables(self) -> list[Any]:
        """What the pool waits on besides its workers: the wake-up pipe and the live control connections."""
        return [self._wake_r, *self.nodes]

    def poll(self, ready: list[Any]) -> list[tuple[Any, ...]]:
        """News for the pool: ``("node_up", node)``, ``("connected", token, conn)``, ``("node", node, message)``
        and ``("lost", node, why)``."""
        news: list[tuple[Any, ...]] = []
        for conn in ready:
            node = self.nodes.get(conn)
            if conn is self._wake_r:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            elif node is not None:
                try:
                    news.append(("node", node, conn.recv()))
                except (EOFError, OSError):
                    news.append(self._lost(node, "its connection closed"))
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return news
            news += self._arrived(item)

    def _arrived(self, item: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if item[0] == "task_done":
            number, future = item[1], item[2]
            if number not in self.started and not self._closed:
                why = future.exception() if future.status == "error" else future.status
                self.log(30, f"node {number} ended before it connected: {why}")
            return []
        conn, hello = item[1], item[2]
        if hello[0] == "worker":
            return [("connected", hello[1], conn)]
        number, info = hello[1], hello[2]
        for old in [n for n in self.nodes.values() if n.number == number]:  # moved by the scheduler
            self._lost(old, "it started again elsewhere")
        node = RemoteNode(number, conn, f"Dask worker {info.get('worker')} (host {info.get('host')})",
                          sent_at=self.sent_at.get(number, clock.monotonic()))
        self.nodes[conn] = node
        self.started.add(number)
        return [("node_up", node)]

    def _lost(self, node: RemoteNode, why: str) -> tuple[Any, ...]:
        node.alive = False
        self.nodes.pop(node.conn, None)
        with contextlib.suppress(OSError):
            node.conn.close()
        return ("lost", node, f"node {node.number} on {node.where} was lost ({why}: its worker died or left)")

    def _post(self, item: tuple[Any, ...]) -> None:
        self._inbox.put(item)
        with contextlib.suppress(OSError):
            self._wake_w.send_bytes(b"!")

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self.listener.accept()
                hello = conn.recv() if conn.poll(CONNECT_SECONDS) else None
            except (OSError, EOFError, multiprocessing.AuthenticationError):
                continue
            if isinstance(hello, tuple) and hello and hello[0] in ("node", "worker"):
                self._post(("hello", conn, hello))
            else:
                conn.close()

    # -- the end -----------------------------------------------------------------------
    def close(self, kill: bool = False) -> None:
        """End every node: at once with ``kill``, else after its processes' ``shutdown()``; unstarted node
        tasks are cancelled."""
        self._closed = True
        for node in list(self.nodes.values()):
            if kill:
                self._lost(node, "closed")
            else:
                node.send(None)
        deadline = clock.monotonic() + STOP_SECONDS
        while self.nodes and clock.monotonic() < deadline:  # drain until each node closes its end
            ready = multiprocessing.connection.wait(list(self.nodes), timeout=max(0.0, deadline - clock.monotonic()))
            for conn in ready:
                try:
                    conn.recv()
                except (EOFError, OSError):
                    self._lost(self.nodes[conn], "ended")
        for node in list(self.nodes.values()):
            self._lost(node, "did not end in time")
        if self.client is not None:
            for future in self.futures.values():
                if not future.done():
                    future.cancel()
            with contextlib.suppress(Exception):
                self.client.close()
        with contextlib.suppress(OSError):
            self.listener.close()
        self._wake_r.close()
        self._wake_w.close()
