"""An llm node's API parameters, typed as prompt flow's LLM tool declares them.

Flows written for prompt flow give parameters as text (``max_tokens: "256"``, ``temperature: "0.7"``,
``functions: '[...]'``) and leave unused ones empty (``stop: ""``, ``logit_bias: ""``). Prompt flow converts
each by the tool's declared type and leaves empty ones out of the request; so does ``api_params``, so a
real API never sees a string where it wants a number.
"""

from __future__ import annotations

import json
from typing import Any

from headrace.errors import FlowNodeError
from headrace.flows.values import convert

__all__ = ["PARAM_TYPES", "api_params", "wants_message"]

#: The declared type of each API parameter (``text_or_object``: a JSON object when the text is one).
PARAM_TYPES: dict[str, str] = {
    "model": "string", "deployment_name": "string", "user": "string",
    "temperature": "double", "top_p": "double", "presence_penalty": "double", "frequency_penalty": "double",
    "max_tokens": "int", "max_completion_tokens": "int", "seed": "int", "n": "int", "top_logprobs": "int",
    "logprobs": "bool", "parallel_tool_calls": "bool",
    "stop": "list", "functions": "list", "tools": "list",
    "logit_bias": "object", "response_format": "text_or_object", "function_call": "text_or_object",
    "tool_choice": "text_or_object", "reasoning_effort": "string",
}


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def api_params(params: dict[str, Any], node: str) -> dict[str, Any]:
    """The parameters to send: each converted by its declared type, empty ones (``""``, None, ``[]``,
    ``{}``, ``max_tokens: inf``) left out.

    Raises:
        FlowNodeError: a value that does not fit its type (the parameter is named).
    """
    result: dict[str, Any] = {}
    for key, value in params.items():
        if _empty(value):
            continue
        kind = PARAM_TYPES.get(key)
        try:
            if kind in (None, "string"):
                result[key] = value
            elif key in ("max_tokens", "max_completion_tokens") and str(value).strip().lower() == "inf":
                continue
            elif kind == "text_or_object":
                result[key] = _text_or_object(value)
            elif kind == "list" and key == "stop" and isinstance(value, str) and not value.lstrip().startswith("["):
                result[key] = [value]  # one stop sequence given as text
            else:
                result[key] = convert(kind, value)
        except ValueError as exc:
            raise FlowNodeError(node, f"llm parameter {key!r}: {exc}") from None
    if result.get("tools"):  # prompt flow: tools win over the deprecated functions
        result.pop("functions", None)
        result.pop("function_call", None)
    elif not result.get("functions"):
        result.pop("function_call", None)
    if not result.get("tools"):
        result.pop("tool_choice", None)
    return result


def _text_or_object(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON object, got text that is not JSON ({exc.msg})") from None
    return value


def wants_message(params: dict[str, Any]) -> bool:
    """True when the call offers functions or tools: the node then outputs the whole message (its
    ``function_call`` / ``tool_calls`` included), not only its text, as prompt flow's LLM tool does."""
    return bool(params.get("functions") or params.get("tools"))
