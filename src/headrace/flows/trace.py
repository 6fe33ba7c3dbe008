"""What a flow run records: per-node traces, line and aggregation results, and OpenTelemetry spans.

Spans go to the tracer ``headrace.flows``: one per line (``flow <name>``) with one child per node. Nothing is
exported unless ``configure_tracing`` is called with an endpoint (or ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set),
so a flow never reaches for the network unasked.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opentelemetry import trace as otel

from headrace import clock
from headrace.errors import FlowError
from headrace.flows.values import json_safe

__all__ = ["AggregationResult", "LineResult", "NodeTrace", "configure_tracing", "node_span", "span",
           "use_tracer_provider"]

logger = logging.getLogger(__name__)

_provider: Any = None  # a TracerProvider set by use_tracer_provider/configure_tracing; None = the global one


@dataclass
class NodeTrace:
    """One node's run within a line.

    Attributes:
        name: the node's name (a map item's is ``name[index]``).
        type: the node kind (``python``, ``llm``, ``prompt``, ``map``, ``flow``).
        status: ``Completed``, ``Failed``, ``Bypassed``, ``Canceled`` (stopped, or never started, because
            another node failed or the line timed out) or ``Running`` (a stream not yet read to its end).
        inputs: the resolved inputs it was called with.
        output: its output, as returned (None when bypassed or failed).
        start_time / end_time: wall-clock times, UTC.
        latency_ms: the time it took.
        llm: for llm nodes, the runner's trace (model, messages sent, tokens, what the budget cut...).
        error: the error text when it failed.
        children: map items, or a sub-flow's nodes.
    """

    name: str
    type: str
    status: str = "Running"
    inputs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    latency_ms: float | None = None
    llm: dict[str, Any] | None = None
    error: str | None = None
    children: list[NodeTrace] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (times as ISO text; a streamed output not read yet shows as None)."""
        output = None if hasattr(self.output, "__aiter__") else self.output
        return {
            "name": self.name, "type": self.type, "status": self.status, "inputs": json_safe(self.inputs),
            "output": json_safe(output), "start_time": _iso(self.start_time), "end_time": _iso(self.end_time),
            "latency_ms": self.latency_ms, "llm": json_safe(self.llm), "error": self.error,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass
class LineResult:
    """The result of running a flow once.

    Attributes:
        outputs: output name -> value (a streamed output is an async iterator of text chunks).
        nodes: node name -> its trace, for every node that ran or was bypassed.
        status: ``Completed`` or ``Failed``.
        error: the error when it failed (a ``FlowNodeError`` naming the node, the cause chained).
        inputs: the flow inputs after conversion.
    """

    outputs: dict[str, Any]
    nodes: dict[str, NodeTrace]
    status: str = "Completed"
    error: FlowError | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the line completed."""
        return self.status == "Completed"

    def raise_for_status(self) -> LineResult:
        """Raise the line's error if it failed; return itself otherwise."""
        if self.error is not None:
            raise self.error
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the whole result (streamed outputs must be read first to appear)."""
        outputs = {k: None if hasattr(v, "__aiter__") else v for k, v in self.outputs.items()}
        return {
            "status": self.status, "inputs": json_safe(self.inputs), "outputs": json_safe(outputs),
            "error": error_dict(self.error), "start_time": _iso(self.start_time), "end_time": _iso(self.end_time),
            "nodes": {k: v.to_dict() for k, v in self.nodes.items()},
        }


@dataclass
class AggregationResult:
    """The result of a flow's aggregation nodes over a batch.

    Attributes:
        outputs: aggregation node name -> its output.
        metrics: every ``log_metric`` call's last value, by name.
        nodes: node name -> its trace.
        status: ``Completed`` or ``Failed``; ``error`` holds the failure.
    """

    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    nodes: dict[str, NodeTrace] = field(default_factory=dict)
    status: str = "Completed"
    error: FlowError | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"status": self.status, "outputs": json_safe(self.outputs), "metrics": dict(self.metrics),
                "error": error_dict(self.error), "nodes": {k: v.to_dict() for k, v in self.nodes.items()}}


def error_dict(error: BaseException | None) -> dict[str, Any] | None:
    """``{"type", "message", "node"}`` for an error, None for none."""
    if error is None:
        return None
    return {"type": type(error).__name__, "message": str(error), "node": getattr(error, "node", None)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def use_tracer_provider(provider: Any) -> None:
    """Send flow spans to this ``TracerProvider`` instead of the global one (None: back to the global one)."""
    global _provider
    _provider = provider


def _tracer() -> otel.Tracer:
    return (_provider or otel.get_tracer_provider()).get_tracer("headrace.flows")


def configure_tracing(endpoint: str | None = None) -> Any:
    """Export flow spans over OTLP/HTTP when an endpoint is known; do nothing otherwise.

    Args:
        endpoint: the collector's base URL (``http://host:4318``) or its traces URL; when None, the standard
            ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` variables are used.

    Returns:
        The ``TracerProvider`` now in use for flow spans, or None when tracing stays off.
    """
    env = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint and not env:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if endpoint:
        url = endpoint.rstrip("/")
        exporter = OTLPSpanExporter(endpoint=url if url.endswith("/v1/traces") else f"{url}/v1/traces")
    else:
        exporter = OTLPSpanExporter()  # reads the OTEL_EXPORTER_OTLP_* variables itself
    provider = TracerProvider(resource=Resource.create({"service.name": "headrace-flows"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    use_tracer_provider(provider)
    logger.info("flow traces exported to %s", endpoint or env)
    return provider


def _tracing() -> bool:
    """Whether spans go anywhere: a provider given to ``use_tracer_provider``, or a global one an SDK set.

    Without either, OpenTelemetry's API makes no-op spans anyway; skipping them saves their bookkeeping
    (a fifth of a small node's cost).
    """
    return _provider is not None or not isinstance(otel.get_tracer_provider(), otel.ProxyTracerProvider)


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span of the ``headrace.flows`` tracer, current for the block (tasks and threads started inside inherit it)."""
    if not _tracing():
        yield otel.INVALID_SPAN
        return
    with _tracer().start_as_current_span(name, attributes={k: v for k, v in attributes.items()
                                                           if v is not None}) as current:
        yield current


@contextlib.contextmanager
def node_span(record: NodeTrace) -> Iterator[Any]:
    """A live span for a node: current while it runs (sub-flow and map items nest under it); its attributes
    (status, latency, tokens, error) are read from ``record`` when the block ends."""
    if not _tracing():
        yield otel.INVALID_SPAN
        return
    with span(f"node {record.name}", **{"headrace.node.name": record.name,
                                        "headrace.node.type": record.type}) as current:
        try:
            yield current
        finally:
            attributes: dict[str, Any] = {"headrace.node.status": record.status}
            if record.latency_ms is not None:
                attributes["headrace.node.latency_ms"] = record.latency_ms
            for key in ("prompt_tokens", "completion_tokens", "model"):
                value = (record.llm or {}).get(key)
                if isinstance(value, str | int | float):
                    attributes[f"headrace.llm.{key}"] = value
            if record.error:
                attributes["headrace.node.error"] = record.error[:2000]
                current.set_status(otel.Status(otel.StatusCode.ERROR, record.error[:200]))
            current.set_attributes(attributes)


def stamp_start(record: NodeTrace) -> float:
    """Set the start time; returns the monotonic start for ``stamp_end``."""
    record.start_time = clock.now()
    return clock.monotonic()


def stamp_end(record: NodeTrace, started: float, status: str) -> None:
    """Set the end time, latency and status."""
    record.end_time = clock.now()
    record.latency_ms = round((clock.monotonic() - started) * 1000, 3)
    record.status = status
