"""Run a flow: ``load_flow(folder)`` then ``await flow.arun(inputs)`` (or ``flow.run(**inputs)``).

Within a line, each node starts as soon as the nodes it references have finished (asyncio tasks, bounded by
``concurrency``; synchronous tools run in worker threads). A node whose ``activate`` condition does not hold
is *bypassed*: its output is None, and bypass spreads to nodes whose every input reference was bypassed, as
in prompt flow. The first failing node stops the line; its ``FlowNodeError`` and the traces of what ran are
in the ``LineResult``. Aggregation nodes do not run in a line: ``arun_aggregation`` runs them once over a
batch's lines.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.errors import FlowDefinitionError, FlowError, FlowNodeError
from headrace.flows.entries import ENTRY_NODE, Entry, entry_outputs, load_node_prompty
from headrace.flows.environment import apply_environment
from headrace.flows.nodes import RunOptions, execute, reason, recorded_stream
from headrace.flows.refs import Scope, find_refs, resolve, resolve_value
from headrace.flows.spec import FlowSpec, NodeSpec, coerce_inputs, load_spec
from headrace.flows.tools import collect_metrics, load_tool
from headrace.flows.trace import (
    AggregationResult,
    LineResult,
    NodeTrace,
    node_span,
    span,
    stamp_end,
    stamp_start,
)

if TYPE_CHECKING:
    from headrace.flows.llm_node import LLMRunner

__all__ = ["Flow", "load_flow"]


def load_flow(folder: str | Path, *, llm: LLMRunner | None = None, init: dict[str, Any] | None = None,
              variant: str | None = None, connections: dict[str, Any] | None = None,
              overrides: dict[str, Any] | None = None) -> Flow:
    """Load a flow folder: validate ``flow.yaml``, import its tools, read its templates.

    Args:
        folder: the folder with ``flow.yaml`` (or the file itself).
        llm: the default runner for llm nodes (``arun(llm=...)`` overrides it).
        init / variant / connections / overrides: as ``headrace.flows.spec.load_spec``.

    Raises:
        FlowDefinitionError: the flow is invalid, or a tool file fails to import.

    Example:
        >>> flow = load_flow("examples/flows/ask-wikipedia", llm=runner)
        >>> flow.run(question="What is the Eiffel tower?").outputs["answer"]
    """
    return Flow(load_spec(folder, init=init, variant=variant, connections=connections, overrides=overrides),
                llm=llm)


@dataclass
class _Line:
    """The state of one line (or one aggregation pass) while it runs."""

    flow: Flow
    inputs: dict[str, Any]
    options: RunOptions
    outputs: dict[str, Any] = field(default_factory=dict)
    bypassed: set[str] = field(default_factory=set)
    traces: dict[str, NodeTrace] = field(default_factory=dict)
    lines: list[Scope] | None = None
    streams: dict[str, Any] = field(default_factory=dict)  # node -> the runner's stream, before wrapping

    def scope(self) -> Scope:
        return Scope(self.inputs, self.outputs, lines=self.lines)


class Flow:
    """A loaded flow, ready to run any number of lines (concurrently too).

    Attributes:
        spec: the validated definition.
        llm: the default runner for llm nodes.
    """

    def __init__(self, spec: FlowSpec, *, llm: LLMRunner | None = None):
        self.spec = spec
        self.llm = llm
        self._tools: dict[tuple[Path, str | None], Callable] = {}
        self._templates: dict[Path, str] = {}
        self._subflows: dict[Path, Flow] = {}
        self._environment_set = not spec.environment_variables
        if spec.lenient and str(spec.folder) not in sys.path:
            # As prompt flow: the folder stays importable while tools run (imports inside functions too).
            sys.path.append(str(spec.folder))
        problems: list[str] = []
        self.entry = Entry(spec.entry) if spec.entry is not None else None  # flex flow or prompty file
        for node in spec.nodes:
            for part in (node, node.node):
                if part is not None:
                    self._prepare(part, problems)
        if problems:
            raise FlowDefinitionError(problems, flow=str(spec.folder / "flow.yaml"))

    def _prepare(self, node: NodeSpec, problems: list[str]) -> None:
        if node.kind == "python" and node.source is not None:
            try:
                self._tools[(node.source, node.function)] = load_tool(node.source, node.function,
                                                                      root=self.spec.folder)
            except FlowError as exc:
                problems.append(f"node {node.name!r}: {exc}")
        elif node.kind == "prompty" and node.source is not None:
            self._tools[(node.source, None)] = load_node_prompty(node)
        elif node.kind in ("llm", "prompt") and node.source is not None:
            self._templates[node.source] = node.source.read_text(encoding="utf-8")
        elif node.kind == "flow" and node.flow is not None:
            try:
                self._subflows[node.flow.folder] = Flow(node.flow, llm=self.llm)
            except FlowDefinitionError as exc:
                problems += [f"node {node.name!r}: sub-flow: {p}" for p in exc.problems]

    def tool(self, node: NodeSpec) -> Callable:
        """The imported tool function of a python node."""
        return self._tools[(node.source, node.function)]  # type: ignore[index]

    def template(self, node: NodeSpec) -> str:
        """The template text of an llm or prompt node."""
        return self._templates[node.source]  # type: ignore[index]

    def subflow(self, node: NodeSpec) -> Flow:
        """The loaded sub-flow of a flow node."""
        return self._subflows[node.flow.folder]  # type: ignore[union-attr]

    @property
    def name(self) -> str:
        """The flow folder's name."""
        return self.spec.folder.name

    def __repr__(self) -> str:
        return f"Flow({str(self.spec.folder)!r}, nodes={[n.name for n in self.spec.nodes]})"

    def run(self, /, **inputs: Any) -> LineResult:
        """Run one line synchronously (no streaming); see ``arun``.

        Raises:
            FlowInputError: bad inputs. A failing node does not raise: see ``LineResult.error``.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(inputs))
        raise FlowError("Flow.run() was called inside a running event loop; use `await flow.arun(inputs)`")

    def __call__(self, /, **inputs: Any) -> dict[str, Any]:
        """Run one line and return its outputs, raising its error if it failed."""
        return self.run(**inputs).raise_for_status().outputs

    async def arun(self, inputs: dict[str, Any], *, llm: LLMRunner | None = None, stream: bool = False,
                   concurrency: int = 8, timeout: float | None = None) -> LineResult:
        """Run one line.

        Args:
            inputs: the flow inputs (strings are converted by type; defaults fill the rest).
            llm: the runner for llm nodes (default: the flow's).
            stream: return the streamed output (the chat output, or the only one) as an async iterator of
                chunks, when it reads an llm node directly; every other output is resolved first.
            concurrency: nodes running at the same time.
            timeout: seconds for the whole line; on expiry it fails naming the nodes still running.

        Returns:
            The line's result; a failed node gives ``status="Failed"`` and the error, not an exception.

        Raises:
            FlowInputError: an input is missing, unknown or of the wrong type (nothing ran).
        """
        values = coerce_inputs(self.spec, inputs)
        if not self._environment_set:
            apply_environment(self.spec, getattr(llm or self.llm, "connection", None))
            self._environment_set = True
        options = RunOptions(llm or self.llm, self._stream_nodes() if stream else frozenset(), concurrency)
        line = _Line(self, values, options)
        options.bypassed = line.bypassed
        result = LineResult({}, line.traces, inputs=values, start_time=clock.now())
        per_line = [n for n in self.spec.nodes if not n.aggregation]
        with span(f"flow {self.name}", **{"headrace.flow": self.name}) as line_span:
            try:
                async with asyncio.timeout(timeout):
                    await self._run_nodes(per_line, line, asyncio.Semaphore(concurrency))
                result.outputs = self._outputs(line)
            except TimeoutError:
                running = [n for n, t in line.traces.items() if t.status == "Canceled" and t.start_time] or ["?"]
                result.error = FlowNodeError(running[0], f"the line timed out after {timeout}s (still running: "
                                                         f"{', '.join(running)})")
            except FlowError as exc:
                result.error = exc
            result.end_time = clock.now()
            result.nodes = {n.name: line.traces[n.name] for n in per_line if n.name in line.traces}
            if result.error is not None:
                result.status = "Failed"
                line_span.set_attribute("headrace.flow.error", str(result.error)[:2000])
                result.outputs = {}
            await self._close_unused_streams(line, result)
        return result

    def _stream_nodes(self) -> frozenset[str]:
        """The llm and generator-tool nodes that may stream: read directly by the streamed output and by nothing else."""
        if self.entry is not None:  # a flex flow or prompty: its answer is the output that streams
            return frozenset({ENTRY_NODE})
        name = self.spec.stream_output
        if name is None:
            return frozenset()
        used_elsewhere = {d for n in self.spec.nodes for d in n.deps}
        used_elsewhere |= {r.name for o in self.spec.outputs.values() if o.name != name for r in o.refs}
        found = set()
        for ref in self.spec.outputs[name].refs:
            if ref.kind == "node" and not ref.path and ref.name not in used_elsewhere:
                node = self.spec.node(ref.name)
                if node.kind == "llm" or (node.kind == "python" and _yields(self.tool(node))):
                    found.add(ref.name)
        return frozenset(found)

    async def _run_nodes(self, nodes: list[NodeSpec], line: _Line, limit: asyncio.Semaphore) -> None:
        """Start each node when its dependencies are done; stop at the first failure."""
        order = {n.name: i for i, n in enumerate(nodes)}
        waiting = {n.name: set(n.deps) & order.keys() for n in nodes}  # what each node still waits for
        dependents: dict[str, list[str]] = {}
        for name, deps in waiting.items():
            for dep in deps:
                dependents.setdefault(dep, []).append(name)
        ready = [n.name for n in nodes if not waiting[n.name]]
        running: dict[asyncio.Task, str] = {}
        try:
            while ready or running:
                for name in sorted(ready, key=order.__getitem__):  # in the file's order
                    del waiting[name]
                    running[asyncio.create_task(self._run_node(nodes[order[name]], line, limit))] = name
                ready = []
                if not running:
                    raise FlowError(f"nodes {', '.join(waiting)} wait on each other")  # check_graph prevents it
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    name = running.pop(task)
                    task.result()  # raises the node's error
                    for after in dependents.get(name, ()):
                        waiting[after].discard(name)
                        if not waiting[after]:
                            ready.append(after)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _run_node(self, node: NodeSpec, line: _Line, limit: asyncio.Semaphore) -> None:
        record = NodeTrace(node.name, node.kind)
        line.traces[node.name] = record
        try:
            bypassed = self._bypassed(node, line)
        except FlowNodeError as exc:
            record.status, record.error = "Failed", reason(exc)
            raise
        if bypassed:
            record.status = "Bypassed"
            line.bypassed.add(node.name)
            line.outputs[node.name] = None
            return
        try:
            async with limit:
                with node_span(record):
                    output = await self._execute(node, line, record)
        except asyncio.CancelledError:  # another node failed, or the line timed out
            if record.status == "Running":
                record.status = "Canceled"
            raise
        line.outputs[node.name] = output

    async def _execute(self, node: NodeSpec, line: _Line, record: NodeTrace) -> Any:
        started = stamp_start(record)
        try:
            output = await execute(self, node, line.scope(), record, line.options)
        except FlowNodeError as exc:
            record.error = reason(exc)
            stamp_end(record, started, "Failed")
            raise
        except asyncio.CancelledError:
            stamp_end(record, started, "Canceled")
            raise
        if node.name in line.options.stream_nodes and hasattr(output, "__aiter__"):
            line.streams[node.name] = output
            output = recorded_stream(output, record, started)  # the trace completes when it is read
            record.output = output
        else:
            record.output = output
            stamp_end(record, started, "Completed")
        return output

    def _bypassed(self, node: NodeSpec, line: _Line) -> bool:
        """Prompt flow's rule: a node with ``activate`` follows its condition alone (bypassed when it is not
        met or reads a bypassed node); one without is bypassed when all its input references were."""
        if node.activate is None:
            return bool(node.input_deps) and node.input_deps <= line.bypassed
        if any(r.kind == "node" and r.name in line.bypassed for r in find_refs(node.activate.when)):
            return True
        try:
            value = resolve_value(node.activate.when, line.scope())
        except KeyError as exc:
            raise FlowNodeError(node.name, f"activate.when: {exc.args[0]}") from exc
        return not _matches(value, node.activate.value)

    def _outputs(self, line: _Line) -> dict[str, Any]:
        if self.entry is not None:
            return entry_outputs(line.outputs.get(ENTRY_NODE))
        scope = line.scope()
        outputs: dict[str, Any] = {}
        for out in self.spec.outputs.values():
            value = None
            for ref in out.refs:
                if ref.kind == "node" and ref.name in line.bypassed:
                    continue
                try:
                    value = resolve(ref, scope)
                except KeyError as exc:
                    raise FlowNodeError(ref.name, f"output {out.name!r}: {exc.args[0]}") from exc
                if value is not None:
                    break
            outputs[out.name] = value
        return outputs

    @staticmethod
    async def _close_unused_streams(line: _Line, result: LineResult) -> None:
        """Close streams no output returns (the line failed, or a fallback list chose another node)."""
        kept = {id(v) for v in result.outputs.values()}
        for name, raw in line.streams.items():
            if id(line.outputs.get(name)) in kept:
                continue
            record = line.traces[name]
            record.output = None
            if record.status == "Running":
                record.status = "Failed" if result.error else "Completed"
                record.error = "its stream was closed unread: the line failed" if result.error else None
                record.end_time = clock.now()
            close = getattr(raw, "aclose", None)
            if close is not None:
                await close()

    async def arun_aggregation(self, per_line_inputs: list[dict[str, Any]], line_results: list[LineResult], *,
                               llm: LLMRunner | None = None, concurrency: int = 8) -> AggregationResult:
        """Run the aggregation nodes once over a batch's lines.

        A reference to an input or a per-line node resolves to the list of its values over the successful
        lines (failed lines are dropped; lists stay aligned by line). ``log_metric`` calls are collected.

        Args:
            per_line_inputs: each line's inputs (as given to ``arun``).
            line_results: each line's result, in the same order.
            llm: the runner for llm aggregation nodes (default: the flow's).
            concurrency: aggregation nodes running at the same time.
        """
        nodes = [n for n in self.spec.nodes if n.aggregation]
        if not nodes:
            return AggregationResult()
        if len(per_line_inputs) != len(line_results):
            raise FlowError(f"arun_aggregation: {len(per_line_inputs)} input rows but {len(line_results)} results")
        lines = []
        for raw, res in zip(per_line_inputs, line_results, strict=True):
            if res.status == "Completed":
                inputs = res.inputs or coerce_inputs(self.spec, raw)
                lines.append(Scope(inputs, {k: t.output for k, t in res.nodes.items()}))
        line = _Line(self, {}, RunOptions(llm or self.llm, frozenset(), concurrency), lines=lines)
        line.options.bypassed = line.bypassed
        result = AggregationResult(nodes=line.traces)
        with span(f"aggregation {self.name}", **{"headrace.flow": self.name, "headrace.lines": len(lines)}):
            with collect_metrics() as metrics:
                try:
                    await self._run_nodes(nodes, line, asyncio.Semaphore(concurrency))
                except FlowError as exc:
                    result.status, result.error = "Failed", exc
        result.metrics = dict(metrics)
        result.outputs = {n.name: line.outputs.get(n.name) for n in nodes}
        return result


def _yields(func: Callable) -> bool:
    """True for a generator tool (its chunks can stream)."""
    return inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)


def _matches(value: Any, expected: Any) -> bool:
    """``activate`` equality. A bool matches only a bool (1 is not true), except that a text value (an LLM's
    answer) matches a bool or number by its trimmed text: "True " matches ``is: true``, "2" matches ``is: 2``."""
    if isinstance(value, str) and not isinstance(expected, str) and expected is not None:
        text = str(expected).lower() if isinstance(expected, bool) else str(expected)
        return value.strip().lower() == text.lower()
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value is expected
    return value == expected
