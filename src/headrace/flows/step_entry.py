"""What a flow step's generated script runs: a batch run of a flow over a data file, written to a folder.

::

    python _headrace_flow_step.py --flow flow --data rows.jsonl --output OUT \\
        [--column-mapping JSON] [--base-run DIR] [--resume-from DIR] [--concurrency N] [--line-timeout S]

``--data`` is a ``.jsonl`` file (one JSON object a line), a ``.json`` file (a list of objects), a ``.csv``
file, or a folder of such files (read in name order). ``--base-run`` and ``--resume-from`` are the output
folders of earlier flow steps. The output folder receives:

- ``outputs.jsonl``: one line per row, by line number: ``line_number``, ``inputs``, ``outputs``, ``status``,
  ``error``. Lines are appended as they end (so an interrupted step leaves what it finished, for
  ``--resume-from``), then the file is rewritten in order at the end.
- ``traces.jsonl``: each line's node traces (``line_number``, ``status``, times, ``resumed``, ``nodes``).
- ``metrics.json``: ``lines_completed``, ``lines_failed`` and the aggregation nodes' metrics.
- ``summary.json``: the counts, metrics, warnings, the column mapping and the aggregation's traces.

Exit code: 0 when at least one line completed (failed lines are counted, not fatal), 1 when every line
failed, the aggregation failed, or the step could not start (bad flow, data or mapping: the message says
which).

This module knows nothing of workspaces: the caller passes the LLM runner factory and where metrics go
(``headrace.sdk.flow_step.step_main`` wires them to the workspace's connections and ``Run.get_context()``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from headrace import clock
from headrace.errors import FlowError, HeadraceError
from headrace.flows.batch import BatchLine, BatchResult, arun_batch, needs_llm, previous_lines
from headrace.flows.executor import load_flow

__all__ = ["OUTPUTS_FILE", "TRACES_FILE", "METRICS_FILE", "SUMMARY_FILE", "ResultWriter", "main", "read_records",
           "read_rows", "read_traces"]

OUTPUTS_FILE = "outputs.jsonl"
TRACES_FILE = "traces.jsonl"
METRICS_FILE = "metrics.json"
SUMMARY_FILE = "summary.json"
_DATA_SUFFIXES = (".jsonl", ".json", ".csv")


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The data rows of a ``.jsonl``, ``.json`` or ``.csv`` file, or of every such file in a folder.

    Raises:
        FlowError: a missing path, an empty folder, an unknown suffix, or a row that is not a JSON object
            (the file and line are named).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _DATA_SUFFIXES)
        if not files:
            raise FlowError(f"data folder {path} holds no {', '.join(_DATA_SUFFIXES)} file")
        return [row for f in files for row in read_rows(f)]
    if not path.is_file():
        raise FlowError(f"data file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            return [dict(row) for row in csv.DictReader(f)]
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FlowError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise FlowError(f"{path}: expected a JSON list of objects (one per row)")
        return rows
    if suffix != ".jsonl":
        raise FlowError(f"data file {path}: use a .jsonl, .json or .csv file")
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FlowError(f"{path}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise FlowError(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a file, skipping lines that do not parse (the last one of an interrupted write)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            yield value


def _in_folder(path: Path, name: str) -> Path:
    return path / name if path.is_dir() else path


def read_records(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a flow step's ``outputs.jsonl`` (give the file or its folder).

    Raises:
        FlowError: there is no such file.
    """
    file = _in_folder(Path(path), OUTPUTS_FILE)
    if not file.is_file():
        raise FlowError(f"no {OUTPUTS_FILE} at {path}: give the output folder of a flow step")
    return list(_jsonl(file))


def read_traces(path: str | os.PathLike[str]) -> dict[int, dict[str, Any]]:
    """Line number -> trace record, from the ``traces.jsonl`` beside ``outputs.jsonl`` (empty when missing)."""
    folder = Path(path) if Path(path).is_dir() else Path(path).parent
    return {t["line_number"]: t for t in _jsonl(folder / TRACES_FILE) if isinstance(t.get("line_number"), int)}


class ResultWriter:
    """Writes a batch's files into a folder: lines appended as they end, everything rewritten in order at the end."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._outputs = open(self.folder / OUTPUTS_FILE, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish
        self._traces = open(self.folder / TRACES_FILE, "w", encoding="utf-8")  # noqa: SIM115

    def add(self, line: BatchLine) -> None:
        """Append one finished line (flushed, so an interrupted step keeps it)."""
        self._outputs.write(_dumps(line.record()) + "\n")
        self._traces.write(_dumps(line.trace_record()) + "\n")
        self._outputs.flush()
        self._traces.flush()

    def close(self) -> None:
        """Close the files (what was appended stays)."""
        self._outputs.close()
        self._traces.close()

    def finish(self, result: BatchResult, extra: dict[str, Any] | None = None) -> None:
        """Rewrite both files by line number and write ``metrics.json`` and ``summary.json``."""
        self.close()
        _write(self.folder / OUTPUTS_FILE, "".join(_dumps(line.record()) + "\n" for line in result.lines))
        _write(self.folder / TRACES_FILE, "".join(_dumps(line.trace_record()) + "\n" for line in result.lines))
        _write(self.folder / METRICS_FILE, json.dumps(result.metrics, indent=2, sort_keys=True) + "\n")
        _write(self.folder / SUMMARY_FILE, json.dumps({**result.summary(), **(extra or {})}, indent=2,
                                                      default=repr, ensure_ascii=False) + "\n")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=repr, ensure_ascii=False)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class _Progress:
    """Prints progress to the step's stdout: every line for small batches, about every 5% for big ones."""

    def __init__(self, total: int, out: TextIO):
        self.total, self.out = total, out
        self.done = self.failed = self.shown_failures = 0
        self.every = max(1, total // 20) if total > 100 else 1

    def __call__(self, line: BatchLine) -> None:
        self.done += 1
        if line.status != "Completed":
            self.failed += 1
            if self.shown_failures < 50:
                self.shown_failures += 1
                message = (line.error or {}).get("message", "")
                self.out.write(f"line {line.line_number} failed: {message[:500]}\n")
        if self.done % self.every == 0 or self.done == self.total:
            self.out.write(f"progress: {self.done}/{self.total} lines ({self.done - self.failed} completed, "
                           f"{self.failed} failed)\n")
        self.out.flush()


def _lines(count: int) -> str:
    return f"{count} line{'' if count == 1 else 's'}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flow step", description="Run a flow over a data file.")
    p.add_argument("--flow", required=True, help="the flow folder (relative to the script's folder)")
    p.add_argument("--data", help="the data file or folder; optional with --base-run")
    p.add_argument("--output", required=True, help="the folder for outputs.jsonl and friends")
    p.add_argument("--column-mapping", default="{}", help="a JSON object: flow input -> reference or literal")
    p.add_argument("--base-run", help="the output folder of the flow step to evaluate")
    p.add_argument("--resume-from", help="the output folder of an earlier run of this step")
    p.add_argument("--concurrency", type=int, default=4, help="lines running at the same time")
    p.add_argument("--line-timeout", type=float, default=None, help="seconds one line may take")
    p.add_argument("--init", help="a JSON object: a flex flow class entry's __init__ arguments")
    p.add_argument("--variant", help="the node variant to run: ${NODE.VARIANT_ID}")
    p.add_argument("--overrides", help='a JSON object: {"connections": {...}, "overrides": {...}} '
                                       "(headrace.flows.overrides)")
    return p


def main(argv: list[str] | None = None, *, base_dir: str | os.PathLike[str] | None = None,
         llm: Callable[[], Any] | None = None, log_metric: Callable[[str, float], None] | None = None,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the batch the arguments describe; write the output folder; return the exit code.

    Args:
        argv: the arguments (see the module docstring); default ``sys.argv[1:]``.
        base_dir: the folder ``--flow`` is relative to (the generated script's folder); default the working one.
        llm: builds the LLM runner; called once, only when the flow has llm nodes.
        log_metric: where each metric goes (``lines_completed``, ``lines_failed``, aggregation metrics).
        out / err: progress and summary / problems (default stdout / stderr).

    Returns:
        0 when at least one line completed, 1 otherwise (see the module docstring).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    started = clock.monotonic()
    try:
        result, writer, mapping = _run(args, base_dir, llm, out)
    except HeadraceError as exc:
        err.write(f"flow step: {exc}\n")
        return 1
    took = clock.monotonic() - started
    writer.finish(result, {"column_mapping": mapping, "seconds": round(took, 3)})
    for warning in result.warnings:
        out.write(f"warning: {warning}\n")
    for name, value in result.metrics.items():
        if log_metric is not None:
            log_metric(name, value)
    out.write(f"{_lines(len(result.lines))}: {result.completed} completed, {result.failed} failed"
              f"{f', {result.resumed} taken from the resumed run' if result.resumed else ''} in {took:.1f}s\n")
    shown = {k: v for k, v in result.metrics.items() if not k.startswith("lines_")}
    if shown:
        out.write("metrics: " + ", ".join(f"{k}={v:g}" for k, v in shown.items()) + "\n")
    out.write(f"outputs: {writer.folder / OUTPUTS_FILE}\n")
    out.flush()
    agg = result.aggregation
    if agg is not None and agg.status != "Completed":
        err.write(f"flow step: the aggregation failed: {agg.error}\n")
        return 1
    if not result.completed:
        first = next((line.error for line in result.lines if line.error), None) or {}
        err.write(f"flow step: every line failed (first error: {first.get('message', 'unknown')})\n")
        return 1
    return 0


def _run(args: argparse.Namespace, base_dir: Any, llm: Callable[[], Any] | None,
         out: TextIO) -> tuple[BatchResult, ResultWriter, dict[str, Any]]:
    folder = Path(base_dir or ".") / args.flow
    changes = json.loads(args.overrides) if args.overrides else {}
    flow = load_flow(folder, init=json.loads(args.init) if args.init else None, variant=args.variant,
                     connections=changes.get("connections"), overrides=changes.get("overrides"))
    try:
        mapping = json.loads(args.column_mapping)
    except json.JSONDecodeError as exc:
        raise FlowError(f"--column-mapping is not JSON: {exc.msg}") from None
    if not isinstance(mapping, dict):
        raise FlowError("--column-mapping must be a JSON object of flow input -> value")
    if args.data is None and args.base_run is None:
        raise FlowError("give --data, or --base-run to evaluate a run's lines")
    rows = read_rows(args.data) if args.data is not None else None
    base = read_records(args.base_run) if args.base_run else None
    previous = None
    if args.resume_from:
        previous = previous_lines(read_records(args.resume_from), read_traces(args.resume_from))
        kept = sum(line.status == "Completed" for line in previous.values())
        out.write(f"resuming: {kept} completed line(s) in {args.resume_from}\n")
    total = len(rows) if rows is not None else len(base or [])
    if total == 0:
        raise FlowError(f"no rows to run: {args.data or args.base_run} is empty")
    runner = llm() if llm is not None and needs_llm(flow.spec) else None
    out.write(f"flow {flow.name}: {_lines(total)}, {args.concurrency} at a time\n")
    out.flush()
    writer = ResultWriter(args.output)
    progress = _Progress(total, out)

    def on_line(line: BatchLine) -> None:
        writer.add(line)
        progress(line)

    try:
        result = asyncio.run(arun_batch(flow, rows, column_mapping=mapping, base=base, previous=previous,
                                        llm=runner, concurrency=args.concurrency, line_timeout=args.line_timeout,
                                        on_line=on_line))
    except BaseException:
        writer.close()
        raise
    return result, writer, mapping
