"""``promptflow.tracing``: ``trace`` (a span per call, in headrace's trace) and ``start_trace``."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from headrace.flows.trace import span

__all__ = ["start_trace", "trace"]

logger = logging.getLogger(__name__)


def trace(func: Callable | None = None, **_: Any) -> Any:
    """Record each call of ``func`` as a span (nested in the node's span when a flow runs it)."""
    if func is None:
        return trace
    name = getattr(func, "__qualname__", getattr(func, "__name__", "call"))
    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            with span(name):
                return await func(*args, **kwargs)
        return traced_async

    @functools.wraps(func)
    def traced(*args: Any, **kwargs: Any) -> Any:
        with span(name):
            return func(*args, **kwargs)
    return traced


def start_trace(**kwargs: Any) -> None:
    """prompt flow starts its trace UI here; headrace traces every flow run already (``headrace flow
    traces``, OpenTelemetry when configured), so this only logs that."""
    logger.info("start_trace(): headrace records traces with every run; see `headrace flow traces`")
