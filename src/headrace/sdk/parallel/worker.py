"""Inside one worker process: import the entry script, call ``init()`` once, then ``run()`` per mini-batch.

Messages over the pipe to the driver (pickled tuples):

- worker -> driver: ``("ready",)`` after ``init()``; ``("init_failed", traceback)``; per mini-batch
  ``("ok", batch_id, rows, text)`` (rows counted, text the lines to append, "" for summary_only) or
  ``("error", batch_id, traceback)``.
- driver -> worker: ``(batch_id, mini_batch)``, or None to stop (``shutdown()`` is called when defined).

A worker on another machine (a Dask node, see ``nodes``) speaks the same protocol over a socket; its file
mini-batches come as ``ShippedFiles`` (names and bytes), written to a scratch folder before ``run()`` gets
their paths.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from typing import Any

ENV_NODE = "HEADRACE_PARALLEL_NODE"
ENV_PROCESS = "HEADRACE_PARALLEL_PROCESS"
ENV_OUTPUT = "AZUREML_BI_OUTPUT_PATH"  # Azure ML's variable: the step's output folder, for init()
USER_LOGGER = "headrace.parallel.user"


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker needs: where the entry script is and how to call it."""

    entry_path: str
    arguments: list[str]
    append_rows: bool
    logging_level: str = "INFO"
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShippedFiles:
    """A file mini-batch for a worker that cannot read the driver's disk: (relative name, bytes) pairs."""

    files: list[tuple[str, bytes]]

    @classmethod
    def read(cls, paths: list[str]) -> ShippedFiles:
        """The files at ``paths``, named relative to their common folder (so base names and sub-folders stay)."""
        root = os.path.commonpath([os.path.dirname(p) for p in paths]) if paths else ""
        found = []
        for path in paths:
            with open(path, "rb") as f:
                found.append((os.path.relpath(path, root), f.read()))
        return cls(found)

    def write(self, folder: str) -> list[str]:
        """Write the files under ``folder``; returns their paths, in order."""
        paths = []
        for rel, data in self.files:
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            paths.append(path)
        return paths


@dataclass(frozen=True)
class Partitioned:
    """What a worker is sent for a mini-batch cut by ``partition_keys``: its items and the keys' values."""

    items: Any
    partition: dict[str, Any]


@dataclass(frozen=True)
class MiniBatchContext:
    """The second argument of ``run(mini_batch, mini_batch_context)``.

    ``partition_key_value`` maps each of ``partition_keys`` to this mini-batch's value ({} when the inputs are
    cut by size); ``minibatch_index`` numbers the mini-batch from 0. ``dataset`` is None: the mini-batch itself
    holds the partition's files or rows (Azure ML gives a filtered dataset object there).
    """

    partition_key_value: dict[str, Any] = field(default_factory=dict)
    minibatch_index: int = 0
    dataset: Any = None


def wants_context(run: Any) -> bool:
    """Whether ``run`` takes a second positional argument (the mini-batch's context)."""
    try:
        params = list(inspect.signature(run).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def serve(conn: Any, spec: WorkerSpec, node: int, process: int) -> None:
    """The worker's whole life (the target of its process)."""
    name = f"node{node}.process{process}"
    os.environ.update(spec.environment)
    os.environ[ENV_NODE], os.environ[ENV_PROCESS] = str(node), name
    _configure_logging(name, spec.logging_level)
    sys.argv = [spec.entry_path, *spec.arguments]
    folder = os.path.dirname(spec.entry_path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = _load(spec.entry_path)
        if callable(getattr(module, "init", None)):
            module.init()
        if not callable(getattr(module, "run", None)):
            raise AttributeError(f"{os.path.basename(spec.entry_path)} defines no run(mini_batch) function")
    except BaseException as exc:  # noqa: BLE001 - reported to the driver, which fails the step with it
        conn.send(("init_failed", _user_traceback(exc)))
        return
    with_context = wants_context(module.run)
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if message is None:
            break
        batch_id, mini_batch = message
        partition = None
        if isinstance(mini_batch, Partitioned):  # cut by partition_keys: the values come along
            mini_batch, partition = mini_batch.items, mini_batch.partition
        scratch = None
        if isinstance(mini_batch, ShippedFiles):
            scratch = tempfile.mkdtemp(prefix=f"mini-batch-{batch_id}-")
            mini_batch = mini_batch.write(scratch)
        try:
            if with_context:
                result = module.run(mini_batch, MiniBatchContext(dict(partition or {}), batch_id))
            else:
                result = module.run(mini_batch)
            rows, text = _rows(result, spec.append_rows)
        except BaseException as exc:  # noqa: BLE001 - a failed try of this mini-batch
            conn.send(("error", batch_id, _user_traceback(exc)))
            continue
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        conn.send(("ok", batch_id, rows, text))
    if callable(getattr(module, "shutdown", None)):
        module.shutdown()


def _user_traceback(exc: BaseException) -> str:
    """The traceback from the user's code down (this module's frames left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _load(path: str) -> Any:
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the entry script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _rows(result: Any, append_rows: bool) -> tuple[int, str]:
    """How many items ``run()`` reports done, and the lines to append: a DataFrame's rows space-separated, a
    list's elements one per line (what Azure ML writes)."""
    if result is None:
        raise TypeError("run() returned None: return a list or a pandas DataFrame with one element per item "
                        "processed (they count the successes)")
    if hasattr(result, "to_csv") and hasattr(result, "columns"):
        text = result.to_csv(sep=" ", header=False, index=False) if append_rows else ""
        return len(result), text
    if isinstance(result, str | bytes) or not hasattr(result, "__len__"):
        raise TypeError(f"run() returned a {type(result).__name__}: return a list or a pandas DataFrame with one "
                        "element per item processed")
    items = list(result)
    text = "".join(f"{item}\n" for item in items) if append_rows else ""
    return len(items), text


def _configure_logging(name: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{name}] %(message)s"))
    logger = logging.getLogger(USER_LOGGER)
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
