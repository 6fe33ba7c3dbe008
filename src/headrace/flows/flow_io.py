"""A flow's ``inputs`` and ``outputs`` sections, and a line's inputs checked against them."""

from __future__ import annotations

import copy
from typing import Any

from headrace.errors import FlowInputError
from headrace.flows.model import FlowSpec, InputSpec, OutputSpec
from headrace.flows.refs import RefSyntaxError, parse_ref
from headrace.flows.values import TYPES, convert

__all__ = ["coerce_inputs", "parse_inputs", "parse_outputs"]


def parse_inputs(raw: Any, problems: list[str]) -> dict[str, InputSpec]:
    """The ``inputs`` section (problems appended to ``problems``)."""
    if not isinstance(raw, dict):
        problems.append("inputs must be a mapping of name -> {type: ..., default: ...}")
        return {}
    result = {}
    for name, body in raw.items():
        if isinstance(body, str):  # shorthand: `question: string`
            body = {"type": body}
        if not isinstance(body, dict):
            problems.append(f"input {name!r}: give a mapping such as {{type: string, default: ...}}")
            continue
        kind = body.get("type")
        if kind not in TYPES:
            problems.append(f"input {name!r}: type {kind!r} is not one of {', '.join(TYPES)}")
            result[str(name)] = InputSpec(str(name), str(kind))  # still declared: references to it are fine
            continue
        spec = InputSpec(str(name), kind, description=str(body.get("description") or ""),
                         is_chat_input=bool(body.get("is_chat_input")),
                         is_chat_history=bool(body.get("is_chat_history")))
        if "default" in body:
            spec.required = False
            try:
                spec.default = None if body["default"] is None else convert(kind, body["default"])
            except ValueError as exc:
                problems.append(f"input {name!r}: the default does not fit type {kind}: {exc}")
        result[str(name)] = spec
    if sum(i.is_chat_input for i in result.values()) > 1:
        problems.append("more than one input has is_chat_input: true; mark only the user's message")
    return result


def parse_outputs(raw: Any, problems: list[str]) -> dict[str, OutputSpec]:
    """The ``outputs`` section (problems appended to ``problems``)."""
    if not isinstance(raw, dict):
        problems.append("outputs must be a mapping of name -> {reference: ${NODE.output}}")
        return {}
    result = {}
    for name, body in raw.items():
        if isinstance(body, str | list):  # shorthand: `answer: ${node.output}`
            body = {"reference": body}
        if not isinstance(body, dict) or body.get("reference") in (None, "", []):
            problems.append(f"output {name!r}: no reference; add reference: ${{NODE.output}}")
            continue
        texts = body["reference"] if isinstance(body["reference"], list) else [body["reference"]]
        refs = []
        for text in texts:
            try:
                ref = parse_ref(text)
            except RefSyntaxError as exc:
                problems.append(f"output {name!r}: {exc}")
                continue
            if ref is None:
                problems.append(f"output {name!r}: reference {text!r} is not ${{...}}; write ${{NODE.output}}")
            else:
                refs.append(ref)
        kind = body.get("type")
        if kind is not None and kind not in TYPES:
            problems.append(f"output {name!r}: type {kind!r} is not one of {', '.join(TYPES)}")
        result[str(name)] = OutputSpec(str(name), refs, kind, str(body.get("description") or ""),
                                       bool(body.get("is_chat_output")))
    if sum(o.is_chat_output for o in result.values()) > 1:
        problems.append("more than one output has is_chat_output: true; mark only the answer")
    return result


def coerce_inputs(spec: FlowSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """The line's flow inputs: each converted to its declared type, defaults filled in.

    ``None`` counts as not given. Strings convert by type (``"2"`` -> 2, ``"true"`` -> True, JSON text ->
    list or object); a bool is not accepted as an int. A lenient (imported) flow ignores unknown inputs and
    takes any value's text for a string input, as prompt flow does.

    Raises:
        FlowInputError: an unknown input, a missing required one, or a value that does not fit its type
            (``.input`` names it).
    """
    unknown = [k for k in raw if k not in spec.inputs]
    if unknown and spec.lenient:  # prompt flow ignores inputs the flow does not declare
        raw = {k: v for k, v in raw.items() if k in spec.inputs}
    elif unknown:
        known = ", ".join(spec.inputs) or "none"
        raise FlowInputError(f"the flow has no such input (its inputs: {known})", input=unknown[0])
    result = {}
    for name, inp in spec.inputs.items():
        value = raw.get(name)
        if value is None:
            if inp.required:
                raise FlowInputError(f"missing; this {inp.type} input has no default", input=name)
            result[name] = copy.deepcopy(inp.default)
            continue
        try:
            if spec.lenient and inp.type == "string" and not isinstance(value, str):
                value = str(value)  # prompt flow's string type takes any value's text
            result[name] = convert(inp.type, value)
        except ValueError as exc:
            raise FlowInputError(str(exc), input=name) from None
    return result
