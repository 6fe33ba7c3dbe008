"""The driver's side of the worker processes: start them, hand out mini-batches, time out stuck ``run()`` calls.

Workers are forked from the driver where the platform allows it (like ``multiprocessing.Pool`` on Linux),
each with a duplex pipe. The driver stays single-threaded: ``events()`` waits on every pipe at once, up to
the nearest ``run()`` deadline, so a stuck call is noticed on time without a watchdog thread.

Each worker holds up to ``DEPTH`` mini-batches: the one it runs and the next, already in its pipe, so it
never waits for the driver between two ``run()`` calls. The deadline is the running one's: it starts when
the worker starts it (when sent to an idle worker, or when the previous one's result arrives).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from headrace import clock
from headrace.sdk.parallel.worker import WorkerSpec, serve

STARTING, READY = "starting", "ready"
DEPTH = 2
"""Mini-batches a worker holds at once: the running one and the next."""


@dataclass
class Worker:
    """One worker process and the mini-batches it holds (the first is running)."""

    node: int
    index: int
    process: Any
    conn: Any
    state: str = STARTING
    held: deque[int] = field(default_factory=deque)
    deadline: float | None = None

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
        node_count: nodes (on one machine: groups of processes, numbered in the workers' names).
        process_count: processes per node.
        timeout: seconds one ``run()`` call may take.
    """

    def __init__(self, spec: WorkerSpec, node_count: int, process_count: int, timeout: float):
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.spec = spec
        self.timeout = timeout
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
        live = {w.conn: w for w in self.workers if w.state == STARTING or w.held}
        ready = multiprocessing.connection.wait(list(live), timeout=wait) if live else []
        events = [self._read(live[conn]) for conn in ready]
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
            return Event(worker, "died", worker.batch_id, text=f"exit code {worker.process.exitcode}",
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

    def replace(self, worker: Worker) -> Worker:
        """Kill ``worker`` (stuck or dead) and start another in its place (which calls ``init()`` again)."""
        self._kill(worker)
        worker.conn.close()
        fresh = self._start(worker.node, worker.index)
        self.workers[self.workers.index(worker)] = fresh
        return fresh

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
            if worker.process.is_alive():
                self._kill(worker)
            worker.conn.close()

    @staticmethod
    def _kill(worker: Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=10)
