"""The ParallelRunStep driver: the step's script. Cuts the inputs, runs the workers, writes the output.

It runs wherever the step runs (it needs only the step's own folder and ``Run.get_context()``), prints a
progress line to stdout now and then (``headrace.core.parallel_run``), logs every mini-batch at INFO and
every failed try at WARNING, and exits 1 with a message naming the threshold and the failures when too
many mini-batches fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TextIO

from headrace import clock
from headrace.core.parallel_run import DEFAULT_APPEND_ROW_FILE, Progress, parse_size, progress_line
from headrace.engine.step_env import (
    ENV_CONTEXT_DIR,
    ENV_DASK_WORKER,
    ENV_RUN_ID,
    ENV_RUN_KIND,
    ENV_STEP_RUN_ID,
    METRICS_FILE,
)
from headrace.errors import HeadraceError
from headrace.sdk.parallel.batches import MiniBatch, file_batches, list_files, tabular_batches
from headrace.sdk.parallel.worker import ENV_OUTPUT, WorkerSpec
from headrace.sdk.parallel.workers import Event, WorkerPool

PROGRESS_EVERY = 1.0
"""Seconds between progress lines (one more when the run ends)."""

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class AbortRun(HeadraceError):
    """Too many failures: the run stops (the message says which threshold and which mini-batches)."""


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The driver's settings and the entry script's own arguments (those after ``--``)."""
    ours, user = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    p = argparse.ArgumentParser(prog="parallel_run")
    p.add_argument("--entry_script", required=True)
    p.add_argument("--input_kind", choices=("file", "tabular"), default="file")
    p.add_argument("--output_action", default="append_row")
    p.add_argument("--output")
    p.add_argument("--append_row_file_name", default=DEFAULT_APPEND_ROW_FILE)
    p.add_argument("--mini_batch_size", type=parse_size)
    p.add_argument("--partition_keys", type=json.loads)
    for name in ("error_threshold", "allowed_failed_count"):
        p.add_argument(f"--{name}", type=int)
    p.add_argument("--allowed_failed_percent", type=float)
    for name, default in (("node_count", 1), ("process_count_per_node", None), ("run_max_try", 3)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--run_invocation_timeout", type=float, default=60)
    p.add_argument("--logging_level", default="INFO")
    p.add_argument("--input_dataset", action="append", default=[])
    p.add_argument("--input_path", action="append", default=[])
    return p.parse_args(ours), user


@dataclass
class Tally:
    """Counts as the run goes, and the first failures (for the message)."""

    total: int
    done: int = 0
    failed: int = 0
    items_failed: int = 0
    retries: int = 0
    rows: int = 0
    errors: list[str] = field(default_factory=list)

    def progress(self) -> Progress:
        return Progress(self.total, self.done, self.failed, self.total - self.done - self.failed,
                        self.items_failed, self.retries)


class Driver:
    """One run of the step: settings, mini-batches, the pool and the output file."""

    def __init__(self, args: argparse.Namespace, user_args: list[str], out: TextIO = sys.stdout):
        self.args = args
        self.level = _LEVELS.get(str(args.logging_level).upper(), 20)
        self.out = out
        self.append = args.output_action == "append_row"
        self.user_args = user_args
        self.tally: Tally | None = None

    def log(self, level: int, text: str) -> None:
        if level >= self.level:
            print(f"[parallel_run] {text}", file=self.out, flush=True)

    def batches(self) -> list[MiniBatch]:
        """Every input's mini-batches, numbered from 0."""
        found: list[MiniBatch] = []
        datasets: dict[str, Any] = {}
        if self.args.input_dataset:  # only then: the Run API costs ~0.15 s of imports
            from headrace.sdk.context import current_run

            datasets = current_run(allow_offline=False).input_datasets
        for name in self.args.input_dataset:
            value = datasets.get(name)
            if value is None:
                raise AbortRun(f"dataset input {name!r} did not reach the step")
            found += self._cut(name, value, len(found))
        for path in self.args.input_path:
            found += file_batches(list_files(path, path), self.args.mini_batch_size, len(found))
        return found

    def _cut(self, name: str, value: Any, first: int) -> list[MiniBatch]:
        if isinstance(value, str) and self.args.partition_keys:
            from headrace.sdk.context import current_run
            from headrace.sdk.parallel.partitions import file_partition_batches

            info = current_run(allow_offline=False).staged_dataset_info(name)
            return file_partition_batches(name, value, info, self.args.partition_keys, first)
        if isinstance(value, str):
            return file_batches(list_files(value, name), self.args.mini_batch_size, first)
        frame = value.to_pandas_dataframe()
        source_bytes = sum(e.size for e in value._entries())
        return tabular_batches(name, frame, source_bytes, self.args.mini_batch_size, self.args.partition_keys, first)

    def run(self) -> Tally:
        """Run every mini-batch; returns the counts.

        Raises:
            AbortRun: a threshold was passed, or a worker's ``init()`` failed.
        """
        a = self.args
        t0 = clock.monotonic()
        batches = self.batches()
        tally = self.tally = Tally(len(batches))
        procs = a.process_count_per_node or os.cpu_count() or 1  # Azure ML's default: the cores
        workers = max(1, min(a.node_count * procs, len(batches)))
        self.log(30 if not batches else 20, f"{len(batches)} mini-batch(es) from {a.input_kind} input(s), on "
                 f"{a.node_count} node(s) x {procs} process(es)" + (f" ({workers} started)" if workers < a.node_count
                                                                    * procs else ""))
        output_dir = a.output or os.getcwd()
        os.makedirs(output_dir, exist_ok=True)
        spec = WorkerSpec(os.path.abspath(a.entry_script), self.user_args, self.append, str(a.logging_level),
                          {ENV_OUTPUT: output_dir})
        os.environ[ENV_OUTPUT] = output_dir
        rows_file = open(os.path.join(output_dir, a.append_row_file_name), "a", encoding="utf-8") \
            if self.append else None
        if not batches:
            self._finish(tally, t0, rows_file)
            return tally
        nodes = max(1, min(a.node_count, workers))
        per_node = -(-workers // nodes)
        remote = self._remote_nodes(nodes - 1, spec) if nodes > 1 else None
        try:
            pool = WorkerPool(spec, 1 if remote else nodes, per_node, a.run_invocation_timeout, remote=remote,
                              log=self.log, echo=lambda line: print(line, file=self.out, flush=True))
        except BaseException:
            if remote is not None:
                remote.close(kill=True)
            raise
        try:
            self._loop(pool, batches, tally, rows_file)
        except BaseException:
            pool.close(kill=True)
            if rows_file is not None:
                rows_file.close()
            raise
        pool.close()
        self._finish(tally, t0, rows_file)
        return tally

    def _remote_nodes(self, count: int, spec: WorkerSpec) -> Any:
        """Nodes 1..``count`` on other Dask workers when the step runs on a Dask target, else None (every node
        on this machine)."""
        own = os.environ.get(ENV_DASK_WORKER)
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS")
        if not own or not scheduler:
            return None
        try:
            from headrace.sdk.parallel.nodes import DaskNodes

            remote = DaskNodes(scheduler, own, self.log)
        except (ImportError, OSError) as exc:  # no distributed in the step's environment, or no socket
            self.log(30, f"cannot start nodes on other Dask workers ({exc}): every node runs on this worker")
            return None
        self.log(20, f"node 0 on this Dask worker ({own}); driver listening at {remote.listener.address[0]}:"
                 f"{remote.listener.address[1]}")
        if remote.start(count, spec) == 0:
            remote.close(kill=True)
            return None
        return remote

    def _loop(self, pool: WorkerPool, batches: list[MiniBatch], tally: Tally, rows_file: TextIO | None) -> None:
        queue = deque(batches)
        by_id = {b.id: b for b in batches}
        tries: dict[int, int] = {}
        last = clock.monotonic()
        print(progress_line(tally.progress()), file=self.out, flush=True)
        while queue or pool.busy():
            while queue and (free := pool.free()):
                batch = queue.popleft()
                tries[batch.id] = tries.get(batch.id, 0) + 1
                pool.submit(free[0], batch.id, batch.payload())
            for event in pool.events(max(0.0, PROGRESS_EVERY - (clock.monotonic() - last))):
                self._handle(event, pool, by_id, tries, queue, tally, rows_file)
            if clock.monotonic() - last >= PROGRESS_EVERY:
                last = clock.monotonic()
                print(progress_line(tally.progress()), file=self.out, flush=True)

    def _handle(self, event: Event, pool: WorkerPool, by_id: dict[int, MiniBatch], tries: dict[int, int],
                queue: deque[MiniBatch], tally: Tally, rows_file: TextIO | None) -> None:
        worker = event.worker
        if event.kind == "ready":
            self.log(20 if worker.remote is not None else 10, f"worker {worker.name}: init() done")
            return
        if event.kind == "init_failed":
            raise AbortRun(f"init() of the entry script failed in worker {worker.name}:\n{event.text}")
        if event.batch_id is None:  # died before init() ended
            raise AbortRun(f"worker {worker.name} exited ({event.text}) before init() returned")
        batch = by_id[event.batch_id]
        if event.kind == "ok":
            tally.done += 1
            tally.rows += event.rows
            missing = max(0, batch.size - event.rows)
            tally.items_failed += missing
            if rows_file is not None and event.text:
                rows_file.write(event.text)
            self.log(30 if missing else 20, f"mini-batch {batch.id} ({batch.label}) done on {worker.name}: "
                     f"{batch.size} item(s), {event.rows} row(s) returned" + (
                         f"; {missing} item(s) counted failed" if missing else ""))
            self._check(tally, batch)
            return
        gone = event.kind in ("timeout", "died") and pool.replace(worker) is None
        how = "its node is gone" if gone else "it was replaced"
        why = {"timeout": f"run() timed out after {self.args.run_invocation_timeout:g}s (run_invocation_timeout); "
                          f"worker {worker.name} was killed; {how}",
               "died": f"worker {worker.name} exited ({event.text}) during run(); {how}"}.get(
                   event.kind, event.text.rstrip())
        if event.kind in ("timeout", "died"):
            for batch_id in reversed(event.unstarted):  # handed over but never started: no try used
                tries[batch_id] -= 1
                queue.appendleft(by_id[batch_id])
        attempt = tries[batch.id]
        if attempt < self.args.run_max_try:
            tally.retries += 1
            self.log(30, f"mini-batch {batch.id} ({batch.label}) try {attempt}/{self.args.run_max_try} failed on "
                     f"{worker.name}, retrying: {why}")
            queue.append(batch)
            return
        tally.failed += 1
        tally.items_failed += batch.size
        self.log(40, f"mini-batch {batch.id} ({batch.label}) failed after {attempt} tries: {why}")
        if len(tally.errors) < 3:
            tally.errors.append(f"mini-batch {batch.id} ({batch.label}): {_last_line(why)}")
        self._check(tally, batch)

    def _check(self, tally: Tally, batch: MiniBatch) -> None:
        a = self.args
        unit = "file" if a.input_kind == "file" else "row"
        if a.error_threshold is not None and a.error_threshold != -1 and tally.items_failed > a.error_threshold:
            raise AbortRun(f"{tally.items_failed} failed {unit}(s) is above error_threshold {a.error_threshold}"
                           + _examples(tally))
        if a.allowed_failed_count not in (None, -1) and tally.failed > a.allowed_failed_count:
            raise AbortRun(f"{tally.failed} failed mini-batch(es) is above allowed_failed_count "
                           f"{a.allowed_failed_count}" + _examples(tally))

    def _finish(self, tally: Tally, t0: float, rows_file: TextIO | None) -> None:
        if rows_file is not None:
            rows_file.close()
        print(progress_line(tally.progress()), file=self.out, flush=True)
        percent = self.args.allowed_failed_percent
        if percent is not None and tally.total and tally.failed * 100 / tally.total > percent:
            raise AbortRun(f"{tally.failed} of {tally.total} mini-batches failed, above allowed_failed_percent "
                           f"{percent:g}%" + _examples(tally))
        self.log(20, f"{tally.done} mini-batch(es) done, {tally.failed} failed ({tally.items_failed} item(s)), "
                 f"{tally.retries} retried, {tally.rows} row(s), in {clock.monotonic() - t0:.2f}s")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else text


def _examples(tally: Tally) -> str:
    return ("; failed: " + "; ".join(tally.errors)) if tally.errors else ""


def main(argv: list[str]) -> int:
    """The generated script's entry point; returns the exit code."""
    args, user = parse(argv)
    driver = Driver(args, user)
    try:
        driver.run()
    except HeadraceError as exc:
        print(f"ParallelRunStep failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if driver.tally is not None:
            _log_metrics(driver.tally)
    return 0


def _log_metrics(tally: Tally) -> None:
    counts = (("mini_batches", tally.total), ("mini_batches_done", tally.done), ("mini_batches_failed", tally.failed),
              ("items_failed", tally.items_failed), ("mini_batch_retries", tally.retries), ("rows", tally.rows))
    env = os.environ
    folder = env.get(ENV_CONTEXT_DIR)
    if folder and ENV_STEP_RUN_ID in env and ENV_RUN_ID in env and env.get(ENV_RUN_KIND) != "script":
        # What the step's Run.get_context().log() appends, without importing the Run API (~0.15 s per step).
        with open(os.path.join(folder, METRICS_FILE), "a", encoding="utf-8") as f:
            f.write("".join(json.dumps({"name": name, "value": value, "kind": "scalar", "scope": "step"}) + "\n"
                            for name, value in counts))
        return
    from headrace.sdk.context import current_run

    run: Any = current_run()
    for name, value in counts:
        run.log(name, value)
