"""Running one node: python tools, prompts, LLM calls, maps over a list, sub-flows.

``execute`` returns the node's output or raises ``FlowNodeError`` naming the node (the cause chained); the
caller (``headrace.flows.executor``) decides when a node runs and whether it is bypassed.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace.errors import FlowNodeError, HeadraceError
from headrace.flows import inline
from headrace.flows.entries import run_prompty
from headrace.flows.llm_params import api_params
from headrace.flows.refs import Scope, parse_ref, resolve_value
from headrace.flows.spec import LLM_PARAMS, NodeSpec
from headrace.flows.templates import render_chat, render_prompt
from headrace.flows.tools import call_args
from headrace.flows.trace import NodeTrace, node_span, stamp_end, stamp_start

if TYPE_CHECKING:
    from headrace.flows.executor import Flow
    from headrace.flows.llm_node import LLMRunner

__all__ = ["RunOptions", "execute", "reason"]

TOOL_THREADS = 64
"""Worker threads for synchronous tools, shared by every flow of the process (they mostly wait on I/O)."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _tool_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=TOOL_THREADS, thread_name_prefix="headrace-tool")
        return _pool


@dataclass
class RunOptions:
    """What every node of a line shares.

    Attributes:
        llm: the runner for llm nodes, or None (an llm node then fails saying so).
        stream_nodes: the llm nodes that return a stream (those a streamed output reads directly).
        concurrency: nodes running at the same time in a line (a sub-flow gets the same bound).
        bypassed: the line's bypassed nodes (the executor's own set, filled as the line runs).
    """

    llm: LLMRunner | None = None
    stream_nodes: frozenset[str] = frozenset()
    concurrency: int = 8
    bypassed: set[str] = field(default_factory=set)


def reason(exc: BaseException) -> str:
    """An error's message without the ``node 'x' failed:`` prefix, to nest it in another node's message."""
    text = str(exc)
    if isinstance(exc, FlowNodeError):
        prefix = f"node {exc.node!r} failed: "
        return text[len(prefix):] if text.startswith(prefix) else text
    # headrace's own errors read well as they are; a user tool's ValueError needs its class to make sense.
    return text if isinstance(exc, HeadraceError) else f"{type(exc).__name__}: {text}"


async def execute(flow: Flow, node: NodeSpec, scope: Scope, record: NodeTrace, options: RunOptions, *,
                  item: str | None = None) -> Any:
    """Run a node once and return its output.

    Args:
        flow: the flow the node belongs to (its tools, templates and sub-flows are loaded there).
        node: the node (a map's inner node too, with ``item`` naming the current item).
        scope: what its references resolve against.
        record: its trace, filled in here (inputs, llm trace, children).
        options: the line's shared options.
        item: inside a map, the item's name.

    Raises:
        FlowNodeError: the node failed (the original exception chained).
    """
    try:
        if node.kind == "map":
            return await _map(flow, node, scope, record, options)
        values = resolve_value(node.inputs, scope, item=item)
        record.inputs = values
        if node.kind == "python":
            typed, bypassed = _sources(node, options.bypassed, item, lenient=flow.spec.lenient)
            args = call_args(flow.tool(node), values, node.name, typed=typed, bypassed=bypassed,
                             connect=getattr(options.llm, "connection", None))
            output = await run_python(flow.tool(node), args)
            return await _chunks(output, stream=item is None and node.name in options.stream_nodes)
        if node.kind == "prompt":
            return render_prompt(flow.template(node), values, origin=node.source.name,  # type: ignore[union-attr]
                                 strict=not flow.spec.lenient)
        if node.kind == "llm":
            return await _llm(flow, node, scope, values, record, options, item)
        if node.kind == "prompty":
            return await run_prompty(flow.tool(node), values, getattr(options.llm, "connection", None))
        if node.kind == "entry":
            stream = item is None and node.name in options.stream_nodes
            output = await flow.entry.call(node, values, getattr(options.llm, "connection", None), stream)
            return await _chunks(output, stream=stream)
        if node.kind == "flow":
            return await _subflow(flow.subflow(node), node, values, record, options)
        raise FlowNodeError(node.name, f"unknown node type {node.kind!r}")
    except FlowNodeError as exc:
        if exc.node == node.name:
            raise
        raise FlowNodeError(node.name, reason(exc)) from exc
    except Exception as exc:
        raise FlowNodeError(node.name, reason(exc)) from exc


def _sources(node: NodeSpec, bypassed: set[str], item: str | None, *,
             lenient: bool = False) -> tuple[set[str], set[str]]:
    """(inputs that are flow inputs or literals, hence typed; inputs whose node was bypassed).

    An imported flow (``lenient``) types literals only, as prompt flow does: its flow inputs arrive as their
    declared type made them (a ``list`` input stays a list for a ``str`` parameter)."""
    typed, skipped = set(), set()
    for key, raw in node.inputs.items():
        ref = parse_ref(raw, item=item)
        if ref is None or (ref.kind == "inputs" and not lenient):
            typed.add(key)
        elif ref.kind == "node" and ref.name in bypassed:
            skipped.add(key)
    return typed, skipped


async def run_python(func: Callable, args: dict[str, Any]) -> Any:
    """Call a tool function: awaited, inline when it proved quick, else in a worker thread."""
    if inspect.iscoroutinefunction(func):
        return await func(**args)
    if inline.runs_inline(func):  # a tool that proved quick: no thread handoff (see ``inline``)
        started = time.perf_counter()
        try:
            result = func(**args)
        finally:
            inline.observe(func, time.perf_counter() - started, inline=True)
    else:
        # A copy of the context: log_metric's collector and the current span reach the worker thread.
        call = functools.partial(contextvars.copy_context().run, _timed, func, args)
        result = await asyncio.get_running_loop().run_in_executor(_tool_pool(), call)
    return await result if inspect.isawaitable(result) else result


async def _chunks(output: Any, *, stream: bool) -> Any:
    """A generator tool's output: its chunks joined into one string, as prompt flow does, or (a streamed
    node) an async iterator of them; any other output as it is."""
    if inspect.isasyncgen(output):
        return output if stream else "".join([str(c) async for c in output])
    if not inspect.isgenerator(output):
        return output
    if stream:
        return _drain(output)
    return await asyncio.get_running_loop().run_in_executor(_tool_pool(), lambda: "".join(map(str, output)))


async def _drain(gen: Any) -> AsyncIterator[str]:
    """A sync generator as an async iterator; each ``next`` runs in a worker thread (it may block)."""
    loop, done = asyncio.get_running_loop(), object()
    while (chunk := await loop.run_in_executor(_tool_pool(), next, gen, done)) is not done:
        yield str(chunk)


def _timed(func: Callable, args: dict[str, Any]) -> Any:
    started = time.perf_counter()
    try:
        return func(**args)
    finally:
        inline.observe(func, time.perf_counter() - started, inline=False)


async def _llm(flow: Flow, node: NodeSpec, scope: Scope, values: dict[str, Any], record: NodeTrace,
               options: RunOptions, item: str | None) -> Any:
    from headrace.flows.llm_node import LLMCall  # the LLM area's module; imported when an llm node runs

    assert node.source is not None
    params = api_params({k: v for k, v in values.items() if k in LLM_PARAMS}, node.name)
    variables = {k: v for k, v in values.items() if k not in LLM_PARAMS}
    messages = render_chat(flow.template(node), variables, origin=node.source.name, strict=not flow.spec.lenient)
    connection = resolve_value(node.connection, scope, item=item)
    if not isinstance(connection, str) or not connection:
        raise FlowNodeError(node.name, f"connection must be a connection's name, got {connection!r}")
    budget = resolve_value(node.context_budget, scope, item=item)
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | str)
                               or not str(budget).strip().isdigit()):
        raise FlowNodeError(node.name, f"context_budget must be a whole number of tokens, got {budget!r}")
    if options.llm is None:
        raise FlowNodeError(node.name, "no LLM runner is configured, so llm nodes cannot run; pass "
                                       "llm=OpenAIRunner(...) to the flow, or run it with the headrace CLI/server, "
                                       "which use the workspace's connections")
    language = resolve_value(node.language, scope, item=item)
    stream = item is None and node.name in options.stream_nodes
    call = LLMCall(node.name, messages, connection, params, int(budget) if budget is not None else None, stream)
    if language:
        call.language = str(language)
    result = await options.llm.run(call)
    record.llm = result.trace
    return result.output


async def _map(flow: Flow, node: NodeSpec, scope: Scope, record: NodeTrace, options: RunOptions) -> list[Any]:
    items = resolve_value(node.over, scope)
    if isinstance(items, tuple):
        items = list(items)
    if not isinstance(items, list):
        raise FlowNodeError(node.name, f"over must give a list, got {type(items).__name__}: {str(items)[:80]!r}")
    record.inputs = {"over": items}
    inner = node.node
    assert inner is not None
    children = [NodeTrace(f"{node.name}[{i}]", inner.kind) for i in range(len(items))]
    record.children = children
    limit = asyncio.Semaphore(node.concurrency)

    async def one(index: int, value: Any) -> Any:
        child = children[index]
        try:
            async with limit:
                with node_span(child):
                    return await _item(child, index, value)
        except asyncio.CancelledError:  # another item failed: this one stopped, or never started
            if child.status == "Running":
                child.status = "Canceled"
            raise

    async def _item(child: NodeTrace, index: int, value: Any) -> Any:
        started = stamp_start(child)
        item_scope = Scope(scope.inputs, scope.outputs, node.item, value, index)
        try:
            child.output = await execute(flow, inner, item_scope, child, options, item=node.item)
        except asyncio.CancelledError:
            stamp_end(child, started, "Canceled")
            raise
        except Exception as exc:
            child.error = reason(exc)
            stamp_end(child, started, "Failed")
            raise
        stamp_end(child, started, "Completed")
        return child.output

    tasks = [asyncio.create_task(one(i, v)) for i, v in enumerate(items)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for index, task in enumerate(tasks):
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            raise FlowNodeError(node.name, f"item {index} of {len(items)} failed: {reason(exc)}") from exc
    return [task.result() for task in tasks]


async def _subflow(sub: Flow, node: NodeSpec, values: dict[str, Any], record: NodeTrace,
                   options: RunOptions) -> dict[str, Any]:
    result = await sub.arun(values, llm=options.llm, concurrency=options.concurrency)
    record.children = list(result.nodes.values())
    if result.error is not None:
        raise FlowNodeError(node.name, f"sub-flow {sub.spec.folder.name}: {result.error}") from result.error
    return result.outputs


async def recorded_stream(stream: AsyncIterator[str], record: NodeTrace, started: float) -> AsyncIterator[str]:
    """Pass a streamed answer through, then complete the node's trace with the full text."""
    parts: list[str] = []
    status = "Failed"
    try:
        async for chunk in stream:
            parts.append(chunk)
            yield chunk
        status = "Completed"
    except GeneratorExit:
        record.error = "the caller stopped reading the stream"
        raise
    except BaseException as exc:
        record.error = reason(exc)
        raise
    finally:
        record.output = "".join(parts)
        stamp_end(record, started, status)
        close = getattr(stream, "aclose", None)
        if close is not None and status != "Completed":
            await close()
