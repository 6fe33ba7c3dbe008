"""The loaded form of a flow: plain dataclasses, filled in and checked by ``headrace.flows.spec``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headrace.flows.refs import Ref

__all__ = ["Activate", "FLOW_TYPES", "FlowSpec", "InputSpec", "LLM_PARAMS", "NODE_KINDS", "NodeSpec", "OutputSpec"]

NODE_KINDS = ("python", "llm", "prompt", "prompty", "map", "flow")  # in flow.yaml; "entry" (entries.py) is internal
FLOW_TYPES = ("standard", "chat", "evaluation")
#: Inputs of an llm node that go to the chat API; every other input is a template variable.
LLM_PARAMS = frozenset({
    "model", "deployment_name", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
    "presence_penalty", "frequency_penalty", "logit_bias", "response_format", "tools", "tool_choice", "n",
    "user", "logprobs", "top_logprobs", "functions", "function_call", "parallel_tool_calls",
})

@dataclass
class InputSpec:
    """A flow input.

    Attributes:
        name: its name.
        type: ``string``, ``int``, ``double``, ``bool``, ``list`` or ``object``.
        default: the default (already converted); meaningful only when ``required`` is False.
        required: True when ``flow.yaml`` gives no default.
    """

    name: str
    type: str
    default: Any = None
    required: bool = True
    description: str = ""
    is_chat_input: bool = False
    is_chat_history: bool = False


@dataclass
class OutputSpec:
    """A flow output.

    Attributes:
        refs: the references it takes its value from; with several, the first whose node ran (not bypassed)
            and whose value is not None wins.
        type: the declared type, or None.
    """

    name: str
    refs: list[Ref]
    type: str | None = None
    description: str = ""
    is_chat_output: bool = False


@dataclass
class Activate:
    """``activate: {when: ..., is: ...}``: the node runs only when ``when`` (a reference or literal) equals ``value``."""

    when: Any
    value: Any


@dataclass
class NodeSpec:
    """A node. Which fields matter depends on ``kind``.

    Attributes:
        name: the node's name (a map's inner node carries its map's name).
        kind: ``python``, ``llm``, ``prompt``, ``map`` or ``flow``.
        inputs: the node's inputs as written (references are still ``${...}`` strings).
        source: the tool file or template (absolute), for python, llm and prompt nodes.
        function: the tool function's name (python; None when the file has one ``@tool``).
        connection: the llm node's connection name, or a reference.
        context_budget: the llm node's token budget (an int or a reference), or None.
        language: the llm node's text language for sentence-level trimming (a code or a reference), or None.
        activate: the activation condition, or None.
        aggregation: True for a node that runs once per batch, after all lines.
        over / item / concurrency / node: a map node's list, item name, parallelism and inner node.
        flow: a sub-flow node's loaded spec.
        deps: the names of every node this one needs.
        input_deps: the nodes referenced by its inputs (bypass spreads when all of them were bypassed).
    """

    name: str
    kind: str
    inputs: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    function: str | None = None
    connection: Any = None
    context_budget: Any = None
    language: Any = None
    activate: Activate | None = None
    aggregation: bool = False
    over: Any = None
    item: str = "item"
    concurrency: int = 4
    node: NodeSpec | None = None
    flow: FlowSpec | None = None
    deps: frozenset[str] = frozenset()
    input_deps: frozenset[str] = frozenset()


@dataclass
class FlowSpec:
    """A loaded, valid flow.

    Attributes:
        folder: the flow's folder (absolute).
        type: ``standard``, ``chat`` or ``evaluation``.
        compat: ``promptflow`` for a flow imported from prompt flow (see ``lenient``), else None.
        environment_variables: set in the process before the flow's tools run (values may reference a
            connection's field: ``${my_conn.api_key}``).
    """

    folder: Path
    inputs: dict[str, InputSpec]
    outputs: dict[str, OutputSpec]
    nodes: list[NodeSpec]
    description: str = ""
    type: str = "standard"
    display_name: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    compat: str | None = None
    environment_variables: dict[str, str] = field(default_factory=dict)
    entry: Any = None  # a flex flow or prompty file run as a flow (``entries.EntryInfo``), else None
    variant: str | None = None  # the node variant chosen (``${NODE.VARIANT_ID}``), None for the defaults

    @property
    def lenient(self) -> bool:
        """True for a flow imported from prompt flow (``compat: promptflow``): it keeps prompt flow's
        leniency (undefined template variables render empty, extra inputs are ignored, a non-text value
        given to a string input becomes its text)."""
        return self.compat == "promptflow"

    def node(self, name: str) -> NodeSpec:
        """The node called ``name`` (KeyError when there is none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    @property
    def stream_output(self) -> str | None:
        """The output that streams when a caller asks for streaming: the chat output, else the only output."""
        chat = [o.name for o in self.outputs.values() if o.is_chat_output]
        if chat:
            return chat[0]
        return next(iter(self.outputs)) if len(self.outputs) == 1 else None
