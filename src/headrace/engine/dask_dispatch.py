"""What the agent knows of one step sent to a Dask cluster: its attempts, their log lines, the child runs and
model requests its worker reported (Dask events, ``dask_worker.TOPIC``)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from headrace import clock
from headrace.engine import compute as c
from headrace.engine import run_files


@dataclass
class Dispatch:
    """One step sent to the cluster: what the agent saw of its attempts."""

    task: c.StepTask
    id: str
    log: list[str]
    event: threading.Event = field(default_factory=threading.Event)
    canceled: bool = False
    # attempt id -> (worker, its log lines), in the order they started
    attempts: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    exhausted: str | None = None  # why the step stops: more attempts started than retries allow
    attempt_at: float | None = None  # when the latest attempt started (monotonic)
    done: bool = False  # the result is in: late events are ignored
    changed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    children: dict[str, run_files.ChildrenLog] = field(default_factory=dict)  # attempt id -> its child runs
    model_requests: list[dict[str, Any]] = field(default_factory=list)  # from the worker, not answered yet

    def lines(self) -> list[str]:
        with self.lock:
            out = list(self.log)
            for _worker, lines in self.attempts.values():
                out.extend(lines)
            return out

    def record(self, msg: dict[str, Any], retries: int) -> None:
        """Take in one event of this dispatch's worker (called on the client's thread)."""
        attempt = str(msg["attempt"])
        with self.lock:
            if self.done:
                return
            if msg["kind"] == "started" and attempt not in self.attempts:
                for worker, lines in self.attempts.values():
                    lines.append(f"attempt lost: worker {worker} left the cluster mid-step")
                number = len(self.attempts) + 1
                self.attempt_at = clock.monotonic()
                header = f"attempt {number} of at most {retries + 1}: {msg['text']}"
                self.attempts[attempt] = (str(msg["worker"]), [header])
                if number > retries + 1:
                    self.exhausted = (f"the step's worker died {number - 1} times (on "
                                      f"{', '.join(w for w, _ in list(self.attempts.values())[:-1])}); "
                                      f"retries ({retries}) exhausted")
                    self.event.set()
            elif msg["kind"] == "children":
                self.children.setdefault(attempt, run_files.ChildrenLog()).add(json.loads(msg["text"]))
                return
            elif msg["kind"] == "model-request":  # answered from the store by the target's serve_models
                self.model_requests.append(json.loads(msg["text"]))
                return
            elif attempt in self.attempts:
                self.attempts[attempt][1].append(str(msg["text"]))
            self.changed = True
