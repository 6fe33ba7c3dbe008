"""Batch runs of a flow: one line per data row, a few lines at a time, each failure kept with its line.

A line's inputs come from its data row through a **column mapping** (``{"question": "${data.q}"}``). For
each flow input, the first of these that applies wins (prompt flow's precedence):

1. the column mapping: ``${data.COL}``, ``${run.outputs.X}``, ``${run.inputs.X}`` or a literal;
2. the input's ``default`` in ``flow.yaml``;
3. a data column of the same name.

An **evaluation** run joins a base run's lines (the records of its ``outputs.jsonl``) by ``line_number``, so
``${run.outputs.answer}`` reads what the base run answered on the same row. A **resumed** run is given a
previous run's records: a line that completed there with the same inputs is kept as it was and not run again.
After the lines, the flow's aggregation nodes run once over the completed lines; their ``log_metric`` values
become the batch's metrics, next to ``lines_completed`` and ``lines_failed``.

Reading data files and writing ``outputs.jsonl`` is ``headrace.flows.step_entry``'s job; everything here
works on rows and records in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.errors import FlowError, FlowInputError
from headrace.flows.refs import RefSyntaxError, apply_column_mapping, parse_ref
from headrace.flows.spec import FlowSpec, coerce_inputs
from headrace.flows.trace import AggregationResult, LineResult, NodeTrace, error_dict
from headrace.flows.values import json_safe

if TYPE_CHECKING:
    from headrace.flows.executor import Flow
    from headrace.flows.llm_node import LLMRunner

__all__ = ["BatchLine", "BatchResult", "arun_batch", "check_mapping", "map_inputs", "needs_llm",
           "previous_lines", "run_batch"]


@dataclass
class BatchLine:
    """One line of a batch run.

    Attributes:
        line_number: the row's position in the data, from 0 (an evaluation without data: the base run's).
        inputs: the flow inputs after conversion (as mapped, when mapping or conversion failed).
        status: ``Completed`` or ``Failed``.
        outputs: the flow outputs (empty when it failed).
        error: ``{"type", "message", "node"}`` when it failed.
        nodes: node name -> its trace as a dict (``NodeTrace.to_dict``).
        resumed: True when the line was taken over from a previous run instead of running.
    """

    line_number: int
    inputs: dict[str, Any]
    status: str = "Completed"
    outputs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    nodes: dict[str, Any] = field(default_factory=dict)
    start_time: str | None = None
    end_time: str | None = None
    resumed: bool = False

    def record(self) -> dict[str, Any]:
        """The line's row of ``outputs.jsonl``."""
        return {"line_number": self.line_number, "inputs": self.inputs, "outputs": self.outputs,
                "status": self.status, "error": self.error}

    def trace_record(self) -> dict[str, Any]:
        """The line's row of ``traces.jsonl``."""
        return {"line_number": self.line_number, "status": self.status, "start_time": self.start_time,
                "end_time": self.end_time, "resumed": self.resumed, "nodes": self.nodes}

    def line_result(self) -> LineResult:
        """A ``LineResult`` carrying what aggregation nodes read: inputs and node outputs."""
        nodes = {name: NodeTrace(name, t.get("type", ""), t.get("status", "Completed"), output=t.get("output"))
                 for name, t in self.nodes.items()}
        return LineResult(self.outputs, nodes, status=self.status, inputs=self.inputs)


@dataclass
class BatchResult:
    """What a batch run produced.

    Attributes:
        lines: every line, by line number.
        aggregation: the aggregation nodes' result, or None when the flow has none (or no line completed).
        warnings: things the user should know (an ignored data column, aggregation skipped...).
    """

    lines: list[BatchLine]
    aggregation: AggregationResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return sum(line.status == "Completed" for line in self.lines)

    @property
    def failed(self) -> int:
        return len(self.lines) - self.completed

    @property
    def resumed(self) -> int:
        return sum(line.resumed for line in self.lines)

    @property
    def metrics(self) -> dict[str, float]:
        """``lines_completed``, ``lines_failed`` (``lines_resumed`` when any) and the aggregation metrics."""
        metrics: dict[str, float] = {"lines_completed": self.completed, "lines_failed": self.failed}
        if self.resumed:
            metrics["lines_resumed"] = self.resumed
        if self.aggregation is not None:
            metrics.update(self.aggregation.metrics)
        return metrics

    def summary(self) -> dict[str, Any]:
        """A JSON-safe summary: counts, metrics, warnings and the aggregation's status, error and traces."""
        agg = self.aggregation.to_dict() if self.aggregation is not None else None
        return {"lines": len(self.lines), "lines_completed": self.completed, "lines_failed": self.failed,
                "lines_resumed": self.resumed, "metrics": self.metrics, "warnings": list(self.warnings),
                "aggregation": agg}


def needs_llm(spec: FlowSpec) -> bool:
    """Whether the flow needs connections: any node (inner map nodes and sub-flows included) is an llm
    node, an environment variable reads a connection, it is imported (its tools may take connections), or
    a tool or a flex class is given a connection's name (``headrace.flows.uses``)."""
    from headrace.flows.uses import connection_names

    if spec.lenient or any("${" in v for v in spec.environment_variables.values()) or connection_names(spec):
        return True
    for node in spec.nodes:
        for part in (node, node.node):
            if part is not None and (part.kind in ("llm", "prompty") or (part.flow is not None and needs_llm(part.flow))):
                return True
    return False


def check_mapping(spec: FlowSpec, mapping: Mapping[str, Any], *, columns: Iterable[str] | None = None,
                  base_run: bool = False) -> list[str]:
    """Check a column mapping against the flow before any line runs.

    Args:
        spec: the flow.
        mapping: flow input -> ``${data.COL}``, ``${run.outputs.X}``, ``${run.inputs.X}`` or a literal.
        columns: the data's column names (every row's keys); None when not known yet (only the mapping itself
            is checked then).
        base_run: whether a base run is given (``${run...}`` needs one).

    Returns:
        Warnings: data columns that an input's default hides.

    Raises:
        FlowInputError: a mapping for an input the flow does not have, a malformed reference, a ``${run...}``
            reference without a base run, or a required input neither mapped nor found in the data.
    """
    for name, value in mapping.items():
        if name not in spec.inputs:
            raise FlowInputError(f"the column mapping gives it, but the flow has no such input (its inputs: "
                                 f"{', '.join(spec.inputs) or 'none'})", input=name)
        try:
            ref = parse_ref(value, batch=True)
        except RefSyntaxError as exc:
            raise FlowInputError(f"column mapping: {exc}", input=name) from None
        if ref is not None and ref.kind.startswith("run.") and not base_run:
            raise FlowInputError(f"column mapping {ref}: ${{run...}} reads a base run, and none was given "
                                 f"(evaluate a run, or map it from the data with ${{data.COLUMN}})", input=name)
    if columns is None:
        return []
    columns = set(columns)
    warnings = []
    for name, inp in spec.inputs.items():
        if name in mapping:
            continue
        if inp.required and name not in columns:
            have = ", ".join(sorted(columns)) or "none"
            raise FlowInputError(f"required, but the column mapping does not give it and the data has no column "
                                 f"{name!r} (columns: {have}); map it: {name}=${{data.COLUMN}}", input=name)
        if not inp.required and name in columns:
            warnings.append(f"data column {name!r} is not used: input {name!r} has a default, which comes first; "
                            f"map it to use the column: {name}=${{data.{name}}}")
    return warnings


def map_inputs(spec: FlowSpec, mapping: Mapping[str, Any], row: Mapping[str, Any],
               base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A line's raw flow inputs (not yet converted): mapping, then default (left to the flow), then same-named column.

    Args:
        spec: the flow.
        mapping: the column mapping.
        row: the data row.
        base: the base run's record of the same line (``inputs`` and ``outputs``), for ``${run...}``.

    Raises:
        KeyError: a mapped column or base-run field the line does not have (the message names it).
    """
    run_inputs = base.get("inputs") if base is not None else None
    run_outputs = base.get("outputs") if base is not None else None
    values = apply_column_mapping(mapping, row, run_inputs=run_inputs, run_outputs=run_outputs)
    for name, inp in spec.inputs.items():
        if name not in values and inp.required and name in row:
            values[name] = row[name]
    return values


def previous_lines(records: Iterable[Mapping[str, Any]],
                   traces: Mapping[int, Mapping[str, Any]] | None = None) -> dict[int, BatchLine]:
    """The lines of a previous run, from its ``outputs.jsonl`` records (and ``traces.jsonl``, by line number).

    Later records of a line replace earlier ones (a file written as lines finished, then again in order).
    Records without an integer ``line_number`` are skipped.
    """
    lines: dict[int, BatchLine] = {}
    traces = traces or {}
    for rec in records:
        number = rec.get("line_number")
        if not isinstance(number, int) or isinstance(number, bool):
            continue
        trace = traces.get(number) or {}
        lines[number] = BatchLine(number, dict(rec.get("inputs") or {}), str(rec.get("status") or "Failed"),
                                  dict(rec.get("outputs") or {}), rec.get("error"), dict(trace.get("nodes") or {}),
                                  trace.get("start_time"), trace.get("end_time"))
    return lines


@dataclass
class _Options:
    flow: Flow
    mapping: Mapping[str, Any]
    base: Mapping[int, Mapping[str, Any]] | None
    previous: Mapping[int, BatchLine]
    llm: LLMRunner | None
    line_timeout: float | None
    node_concurrency: int


async def arun_batch(flow: Flow, rows: Sequence[Mapping[str, Any]] | None, *,
                     column_mapping: Mapping[str, Any] | None = None,
                     base: Iterable[Mapping[str, Any]] | None = None,
                     previous: Mapping[int, BatchLine] | None = None, llm: LLMRunner | None = None,
                     concurrency: int = 4, line_timeout: float | None = None, node_concurrency: int = 8,
                     on_line: Callable[[BatchLine], None] | None = None) -> BatchResult:
    """Run a flow over rows, then its aggregation nodes.

    Args:
        flow: the loaded flow.
        rows: the data rows; None for an evaluation over every line of ``base`` (no ``${data...}`` then).
        column_mapping: flow input -> reference or literal (see the module docstring).
        base: the base run's ``outputs.jsonl`` records, for an evaluation; a line whose base line is missing
            or failed fails without running.
        previous: a previous run's lines (``previous_lines``) to resume from.
        llm: the runner for llm nodes (default: the flow's).
        concurrency: lines running at the same time.
        line_timeout: seconds one line may take; it then fails naming the nodes still running.
        node_concurrency: nodes of one line running at the same time.
        on_line: called with each line as it ends (resumed lines included), in the order they end.

    Returns:
        Every line by line number, and the aggregation result.

    Raises:
        FlowInputError: the column mapping does not fit the flow (see ``check_mapping``).
        FlowError: ``concurrency`` is below 1, or there is neither data nor a base run.
    """
    if concurrency < 1:
        raise FlowError(f"concurrency must be at least 1, got {concurrency}")
    mapping = dict(column_mapping or {})
    base_lines = {int(r["line_number"]): r for r in base or () if isinstance(r.get("line_number"), int)}
    if rows is None:
        if base is None:
            raise FlowError("a batch run needs data rows, or a base run to evaluate")
        numbered = [(n, {}) for n in sorted(base_lines)]
    else:
        numbered = list(enumerate(rows))
    columns = {c for _, row in numbered for c in row}
    warnings = check_mapping(flow.spec, mapping, columns=columns, base_run=base is not None)
    options = _Options(flow, mapping, base_lines if base is not None else None, previous or {}, llm,
                       line_timeout, node_concurrency)
    lines: dict[int, BatchLine] = {}
    pending = iter(numbered)

    async def worker() -> None:
        for number, row in pending:  # one shared iterator: each row is taken by one worker
            line = await _run_line(options, number, row)
            lines[number] = line
            if on_line is not None:
                on_line(line)

    runner = llm or flow.llm
    session = getattr(runner, "session", None)  # one pool of model connections for the whole batch
    async with session() if session is not None else contextlib.nullcontext():
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(numbered)) or 1)))
        result = BatchResult([lines[n] for n, _ in numbered], warnings=warnings)
        if any(n.aggregation for n in flow.spec.nodes):
            if result.completed:
                done = [line for line in result.lines if line.status == "Completed"]
                result.aggregation = await flow.arun_aggregation(
                    [line.inputs for line in done], [line.line_result() for line in done], llm=llm,
                    concurrency=node_concurrency)
            else:
                result.warnings.append("aggregation nodes did not run: no line completed")
    return result


def run_batch(flow: Flow, rows: Sequence[Mapping[str, Any]] | None, **options: Any) -> BatchResult:
    """``arun_batch`` for synchronous code (not inside a running event loop)."""
    return asyncio.run(arun_batch(flow, rows, **options))


async def _run_line(opts: _Options, number: int, row: Mapping[str, Any]) -> BatchLine:
    base = None
    if opts.base is not None:
        base = opts.base.get(number)
        if base is None or base.get("status") != "Completed":
            why = "is not in the base run" if base is None else f"{base.get('status', 'Failed')} in the base run"
            return _failed(number, {}, "BaseRunLineError", f"line {number} {why}: nothing to evaluate")
    try:
        raw = map_inputs(opts.flow.spec, opts.mapping, row, base)
    except KeyError as exc:
        return _failed(number, {}, "FlowInputError", f"column mapping: {exc.args[0]}")
    kept = _resumable(opts, number, raw)
    if kept is not None:
        return kept
    try:
        result = await opts.flow.arun(raw, llm=opts.llm, timeout=opts.line_timeout,
                                      concurrency=opts.node_concurrency)
    except FlowInputError as exc:
        return _failed(number, raw, type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - one line's unexpected error must not stop the other lines
        return _failed(number, raw, type(exc).__name__, f"unexpected error: {exc}")
    return BatchLine(number, json_safe(result.inputs), result.status, json_safe(result.outputs),
                     error_dict(result.error), {k: v.to_dict() for k, v in result.nodes.items()},
                     _iso(result.start_time), _iso(result.end_time))


def _resumable(opts: _Options, number: int, raw: dict[str, Any]) -> BatchLine | None:
    """The previous run's line when it completed with the same inputs (after conversion), else None."""
    before = opts.previous.get(number)
    if before is None or before.status != "Completed":
        return None
    try:
        inputs = _plain(coerce_inputs(opts.flow.spec, raw))
    except FlowInputError:
        return None
    if inputs != _plain(before.inputs):
        return None
    return BatchLine(number, inputs, "Completed", before.outputs, None, before.nodes, before.start_time,
                     before.end_time, resumed=True)


def _plain(value: Any) -> Any:
    """What a value reads back as from JSON (tuples become lists, keys text), to compare with a record."""
    return json.loads(json.dumps(json_safe(value)))


def _failed(number: int, inputs: dict[str, Any], kind: str, message: str) -> BatchLine:
    return BatchLine(number, json_safe(inputs), "Failed", {}, {"type": kind, "message": message, "node": None})


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
