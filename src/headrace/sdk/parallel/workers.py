"""The driver's side of the worker processes: start them, hand out mini-batches, time out stuck ``run()`` calls.

Workers are forked from the driver where the platform allows it (like ``multiprocessing.Pool`` on Linux),
each with a duplex pipe. The driver stays single-threaded: ``events()`` waits on every pipe at once, up to
the nearest ``run()`` deadline, so a stuck call is noticed on time without a watchdog thread.

Each worker holds up to ``DEPTH`` mini-batches: the one it runs and the next, already in its pipe, so it
never waits for the driver between two ``run()`` calls. The deadline is the running one's: it starts when
the worker starts it (when sent to an idle worker, or when the previous one's result arrives).

With ``remote`` (``nodes.DaskNodes``), nodes 1.. run on other machines: their workers join as their nodes
connect, speak the same protocol over sockets, get file mini-batches as ``ShippedFiles``, and leave with
their node when it is lost (their mini-batches are handed back as "died" events, not replaced).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from headrace import clock
from headrace.sdk.parallel.worker import Partitioned, ShippedFiles, WorkerSpec, serve

STARTING, READY = "starting", "ready"
DEPTH = 2
"""Mini-batches a worker holds at once: the running one and the next."""


@dataclass(eq=False)
class Worker:
    """One worker process and the mini-batches it holds (the first is running).

    A remote worker has a ``token`` (how its connection names it) and no ``conn`` until it connects.
    """

    node: int
    index: int
    process: Any
    conn: Any
    state: str = STARTING
    held: deque[int] = field(default_factory=deque)
    deadline: float | None = None
    token: str = ""
    remote: Any = None  # its RemoteNode

    @property
    def batch_id(self) -> int | None:
        """The mini-batch the worker runs now, if any."""
        return self.held[0] if self.held else None

    @property
    def name(self) -> str:
        return f"node{self.node}.process{self.index}"


@dataclass(frozen=True)
class Event:
    """Something a worker did: ``kind`` is a worker message kind, or "timeout" / "died".

    ``unstarted`` are mini-batches a timed-out or dead worker held but had not started: they go back to
    the queue without using a try.
    """

    worker: Worker
    kind: str
    batch_id: int | None = None
    rows: int = 0
    text: str = ""
    unstarted: tuple[int, ...] = ()


class WorkerPool:
    """``node_count`` × ``process_count`` workers running ``spec``'s entry script.

    Args:
        spec: the entry script and its settings.
        node_count: nodes on this machine (groups of processes, numbered in the workers' names).
        process_count: processes per node.
        timeout: seconds one ``run()`` call may take.
        remote: further nodes on other machines (``nodes.DaskNodes``, already started), or None.
        log: ``log(level, text)`` for what happens to nodes.
        echo: prints a remote worker's output line (local workers write to the step's stdout themselves).
    """

    def __init__(self, spec: WorkerSpec, node_count: int, process_count: int, timeout: float, remote: Any = None,
                 log: Callable[[int, str], None] = lambda level, text: None,
                 echo: Callable[[str], None] = print):
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.spec = spec
        self.timeout = timeout
        self.process_count = process_count
        self.remote = remote
        self.log = log
        self.echo = echo
        self.workers = [self._start(node, index) for node in range(node_count) for index in range(process_count)]

    def _start(self, node: int, index: int) -> Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=serve, args=(theirs, self.spec, node, index),
                                    name=f"parallel-run-node{node}.process{index}")
        process.start()
        theirs.close()
        return Worker(node, index, process, ours)

    def free(self) -> list[Worker]:
        """Started workers that can take another mini-batch (the emptiest first)."""
        return sorted((w for w in self.workers if w.state == READY and len(w.held) < DEPTH), key=lambda w: len(w.held))

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.held]

    def submit(self, worker: Worker, batch_id: int, mini_batch: Any) -> None:
        """Hand ``mini_batch`` to a worker with room; an idle worker starts it (and its deadline) now."""
        if worker.remote is not None:  # file paths: send the files
            mini_batch = _shipped(mini_batch)
        worker.conn.send((batch_id, mini_batch))
        worker.held.append(batch_id)
        if len(worker.held) == 1:
            worker.deadline = clock.monotonic() + self.timeout

    def events(self, wait: float | None) -> list[Event]:
        """What happened within ``wait`` seconds (sooner when a deadline falls first): messages, deaths, timeouts."""
        now = clock.monotonic()
        deadlines = [w.deadline for w in self.busy() if w.deadline is not None]
        if deadlines:
            wait = max(0.0, min(deadlines) - now) if wait is None else max(0.0, min(wait, min(deadlines) - now))
        live = {w.conn: w for w in self.workers if w.conn is not None and (w.state == STARTING or w.held)}
        extra = self.remote.waitables() if self.remote is not None else []
        ready = multiprocessing.connection.wait([*live, *extra], timeout=wait) if live or extra else []
        events = self._remote_news([r for r in ready if r not in live]) if extra else []
        for conn in ready:  # a worker whose node was lost meanwhile is gone
            if conn in live and live[conn].conn is conn and any(w is live[conn] for w in self.workers):
                events.append(self._read(live[conn]))
        now = clock.monotonic()
        for worker in self.busy():
            if worker.deadline is not None and now >= worker.deadline and all(e.worker is not worker for e in events):
                events.append(Event(worker, "timeout", worker.batch_id, unstarted=tuple(list(worker.held)[1:])))
        return events

    def _read(self, worker: Worker) -> Event:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            why = f"exit code {worker.process.exitcode}" if worker.remote is None else \
                f"its connection closed on node {worker.node}"
            return Event(worker, "died", worker.batch_id, text=why,
                         unstarted=tuple(list(worker.held)[1:]))
        kind = message[0]
        if kind == "ready":
            worker.state = READY
            return Event(worker, "ready")
        if kind == "init_failed":
            return Event(worker, kind, text=message[1])
        worker.held.popleft()
        worker.deadline = clock.monotonic() + self.timeout if worker.held else None
        if kind == "ok":
            return Event(worker, "ok", message[1], rows=message[2], text=message[3])
        return Event(worker, "error", message[1], text=message[2])

    def replace(self, worker: Worker) -> Worker | None:
        """Kill ``worker`` (stuck or dead) and start another in its place (which calls ``init()`` again);
        None when its node is gone."""
        if not any(w is worker for w in self.workers):
            return None
        self._kill(worker)
        if worker.conn is not None:
            worker.conn.close()
        position = next(i for i, w in enumerate(self.workers) if w is worker)
        if worker.remote is not None and not worker.remote.alive:
            del self.workers[position]
            return None
        fresh = self._start_remote(worker.remote, worker.index) if worker.remote is not None else \
            self._start(worker.node, worker.index)
        self.workers[position] = fresh
        return fresh

    # -- remote nodes ------------------------------------------------------------------
    def _start_remote(self, node: Any, index: int) -> Worker:
        from headrace.sdk.parallel.nodes import RemoteProcess

        token = node.start(index)
        return Worker(node.number, index, RemoteProcess(node, token), None, token=token, remote=node)

    def _remote_news(self, ready: list[Any]) -> list[Event]:
        events: list[Event] = []
        by_token = {w.token: w for w in self.workers if w.token}
        for news in self.remote.poll(ready):
            kind, subject = news[0], news[1]
            if kind == "node_up":
                self.log(20, f"node {subject.number} up on {subject.where}, "
                         f"{clock.monotonic() - subject.sent_at:.2f}s after it was sent")
                self.workers += [self._start_remote(subject, i) for i in range(self.process_count)]
            elif kind == "connected":
                worker = by_token.get(subject)
                if worker is None:
                    news[2].close()
                else:
                    worker.conn = news[2]
            elif kind == "lost":
                events += self._drop(subject, news[2])
            elif news[2][0] == "out":
                self.echo(news[2][1])
            elif news[2][0] == "exited" and (worker := by_token.get(news[2][1])) is not None:
                worker.process.exitcode = news[2][2]
                if worker.conn is None:  # never connected: failed to start
                    events.append(Event(worker, "died", text=f"exit code {news[2][2]} on node {worker.node}; its "
                                        f"last lines:\n{news[2][3]}"))
        return events

    def _drop(self, node: Any, why: str) -> list[Event]:
        """The workers of a lost node leave the pool; those holding mini-batches report them as died."""
        gone = [w for w in self.workers if w.remote is node]
        self.workers = [w for w in self.workers if w.remote is not node]
        held = sum(len(w.held) for w in gone)
        self.log(30, f"{why}; its {len(gone)} worker(s) left the pool" + (
            f" with {held} mini-batch(es), which go to the other nodes" if held else ""))
        events = []
        for worker in gone:
            if worker.conn is not None:
                worker.conn.close()
            if worker.held:
                events.append(Event(worker, "died", worker.batch_id, text=f"node {node.number} lost",
                                    unstarted=tuple(list(worker.held)[1:])))
        return events

    def close(self, kill: bool = False) -> None:
        """Stop every worker: idle ones finish (``shutdown()``); busy or starting ones, or all with ``kill``, are
        killed."""
        for worker in self.workers:
            if not kill and worker.state == READY and not worker.held:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                self._kill(worker)
        for worker in self.workers:
            worker.process.join(timeout=30)
            if worker.process.is_alive() and worker.remote is None:
                self._kill(worker)
            if worker.conn is not None:
                worker.conn.close()
        if self.remote is not None:
            self.remote.close(kill=kill)

    @staticmethod
    def _kill(worker: Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)


def _shipped(mini_batch: Any) -> Any:
    """A file mini-batch as the files themselves (for a worker that cannot read this disk)."""
    if isinstance(mini_batch, Partitioned) and isinstance(mini_batch.items, list):
        return Partitioned(ShippedFiles.read(mini_batch.items), mini_batch.partition)
    return ShippedFiles.read(mini_batch) if isinstance(mini_batch, list) else mini_batch
