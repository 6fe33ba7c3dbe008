"""Prompt flows: DAGs of LLM calls, prompts and Python tools, defined by a folder with ``flow.yaml``.

The names tool files need (``tool``, ``log_metric``) import cheaply; the executor and the loader come in on
first use, so ``from headrace.flows import tool`` does not pull in Jinja2, YAML or OpenTelemetry.

Example:
    >>> from headrace.flows import load_flow
    >>> flow = load_flow("my_flow")
    >>> result = flow.run(question="What is a headrace?")
    >>> result.outputs, result.status
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headrace.flows.tools import log_metric, tool

if TYPE_CHECKING:
    from headrace.flows.executor import Flow, load_flow
    from headrace.flows.llm_node import LLMCall, LLMResult, OpenAIRunner
    from headrace.flows.spec import FlowSpec, coerce_inputs, load_spec
    from headrace.flows.templates import ChatMessage, Segment, render_chat, render_prompt
    from headrace.flows.trace import AggregationResult, LineResult, NodeTrace, configure_tracing

__all__ = [
    "AggregationResult",
    "ChatMessage",
    "Flow",
    "FlowSpec",
    "LLMCall",
    "LLMResult",
    "LineResult",
    "NodeTrace",
    "OpenAIRunner",
    "Segment",
    "coerce_inputs",
    "configure_tracing",
    "load_flow",
    "load_spec",
    "log_metric",
    "render_chat",
    "render_prompt",
    "tool",
]

_LAZY = {
    "Flow": "executor", "load_flow": "executor",
    "FlowSpec": "spec", "coerce_inputs": "spec", "load_spec": "spec",
    "ChatMessage": "templates", "Segment": "templates", "render_chat": "templates", "render_prompt": "templates",
    "LLMCall": "llm_node", "LLMResult": "llm_node", "OpenAIRunner": "llm_node",
    "AggregationResult": "trace", "LineResult": "trace", "NodeTrace": "trace", "configure_tracing": "trace",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'headrace.flows' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"headrace.flows.{module}"), name)
