"""Python tools: the ``@tool`` decorator, ``log_metric``, loading tool files, converting arguments by hints.

Tool files are imported from their path under a module name unique to the file (two flows may both have a
``tools.py``). The file's folder is on ``sys.path`` while it is imported, so it can import sibling modules;
those siblings are then taken out of ``sys.modules`` again so that another flow's ``helpers.py`` never gets
this one's. Import siblings at the top of the tool file, not inside functions.
"""

from __future__ import annotations

import ast
import contextvars
import functools
import hashlib
import importlib.util
import inspect
import logging
import sys
import threading
import types
import typing
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headrace.errors import FlowError, FlowNodeError
from headrace.flows.class_tools import class_tool_params, class_tools
from headrace.flows.inline import THREAD_ATTRIBUTE
from headrace.flows.values import convert

__all__ = ["ToolInfo", "call_args", "collect_metrics", "connection_arg", "connection_parameters", "load_tool", "log_metric", "scan_tools",
           "tool"]

logger = logging.getLogger(__name__)

_MARK = "__headrace_tool__"
_metrics: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar("headrace_metrics", default=None)
_import_lock = threading.Lock()  # sys.path and sys.modules are process-wide


_PROMPTFLOW_ARGS = frozenset({"description", "type", "input_settings", "streaming_option", "icon", "category"})


def tool(func: Callable | None = None, *, name: str | None = None, thread: bool | None = None,
         **promptflow_args: Any) -> Any:
    """Mark a function as a flow tool; it stays an ordinary function you can call and test.

    Usable bare (``@tool``) or with arguments (``@tool(name="search")``). Parameters are converted from
    their type hints when the flow calls it (``count: int`` receives ``"2"`` as 2); the return value is the
    node's output. ``async def`` tools are awaited. Plain ones run in a worker thread until they have
    proved quick, then on the event loop (``headrace.flows.inline``); ``thread=True`` keeps one in threads
    always, ``thread=False`` never uses one. Prompt flow's other arguments (``description``, ``type``,
    ``input_settings``, ``streaming_option``...) are accepted and ignored, so its tool files run unchanged.

    Raises:
        TypeError: an argument neither headrace nor prompt flow has.

    Example:
        >>> @tool
        ... def get_wiki_url(entity: str, count: int = 2) -> list[str]:
        ...     return [entity] * count
    """
    unknown = sorted(set(promptflow_args) - _PROMPTFLOW_ARGS)
    if unknown:
        raise TypeError(f"tool() got unexpected keyword argument(s) {', '.join(unknown)}")

    def mark(f: Callable) -> Callable:
        setattr(f, _MARK, name or f.__name__)
        if thread is not None:
            setattr(f, THREAD_ATTRIBUTE, thread)
        return f

    return mark(func) if func is not None else mark


def log_metric(key: str, value: float, variant_id: str | None = None) -> None:
    """Record a metric of a batch or evaluation run, from an aggregation node.

    The signature is prompt flow's, so ``log_metric(key="accuracy", value=0.9)`` works too. Outside an
    aggregation node (a per-line node, or a plain call in a unit test) the call logs a warning and records
    nothing, so tools stay callable anywhere.

    Args:
        key: the metric's name.
        value: a number.
        variant_id: prompt flow's variant tag; headrace runs one variant, so it is accepted and not stored.

    Raises:
        FlowError: the value is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FlowError(f"log_metric({key!r}, ...): the value must be a number, got {type(value).__name__}")
    store = _metrics.get()
    if store is None:
        logger.warning("log_metric(%r, %r) outside an aggregation node: ignored", key, value)
        return
    store[str(key)] = float(value)


class collect_metrics:  # noqa: N801 - used like a function: ``with collect_metrics() as metrics:``
    """Context manager: ``log_metric`` calls inside it (threads started with the context included) land in a dict."""

    def __enter__(self) -> dict[str, float]:
        self._store: dict[str, float] = {}
        self._token = _metrics.set(self._store)
        return self._store

    def __exit__(self, *exc: object) -> None:
        _metrics.reset(self._token)


@dataclass(frozen=True)
class ToolInfo:
    """What a tool file declares, read without running it.

    Attributes:
        name: the function name.
        params: parameter names, in order.
        required: the parameters without a default.
        var_keyword: True when it takes ``**kwargs``.
        lineno: its line in the file.
    """

    name: str
    params: tuple[str, ...]
    required: tuple[str, ...]
    var_keyword: bool
    lineno: int


def scan_tools(path: Path) -> list[ToolInfo]:
    """The ``@tool`` functions a Python file defines at top level, by reading its syntax tree (nothing runs).

    Raises:
        SyntaxError: the file does not parse.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(map(_is_tool, node.decorator_list)):
            args = node.args
            positional = [a.arg for a in (*args.posonlyargs, *args.args)]
            defaults = len(args.defaults)
            required = positional[: len(positional) - defaults] if defaults else positional
            required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
            params = (*positional, *(a.arg for a in args.kwonlyargs))
            found.append(ToolInfo(node.name, tuple(params), tuple(required), args.kwarg is not None, node.lineno))
    if not found:  # prompt flow's class-based tools: a class with a @tool method
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                found += [ToolInfo(*info) for info in class_tool_params(node, _is_tool)]
    return found


def _is_tool(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "tool") or (
        isinstance(target, ast.Attribute) and target.attr == "tool")


def _module_name(path: Path) -> str:
    # The modification time is part of the name: a flow loaded again after its tool file was edited (a
    # server reload, a notebook) gets the new code, while unchanged files are imported once per process.
    digest = hashlib.sha1(f"{path}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    return f"headrace_flow_tools_{digest}_{path.stem}"


def load_tool(path: Path, function: str | None = None, *, root: Path | None = None) -> Callable:
    """Import a tool file and return its tool function.

    Args:
        path: the ``.py`` file.
        function: the function's name; may be omitted when the file has exactly one ``@tool``.
        root: the flow's folder: importable too while the file is imported (a tool in a sub-folder can
            import the flow's other modules), as the file's own folder is.

    Raises:
        FlowError: the import failed (the cause is chained), or the function is missing or ambiguous.
    """
    path = path.resolve()
    name = _module_name(path)
    with _import_lock:
        module = sys.modules.get(name)
        if module is None:
            module = _import(path, name, root.resolve() if root is not None else None)
    tools = {n: f for n, f in vars(module).items() if callable(f) and getattr(f, _MARK, None)
             and getattr(f, "__module__", None) == name and not inspect.isclass(f)}
    if not tools:
        tools = class_tools(module, _MARK)
        if function is not None and function in tools:
            return tools[function]
    if function is None:
        if len(tools) != 1:
            found = ", ".join(sorted(tools)) or "none"
            raise FlowError(f"{path.name}: give `function:`, the file has {len(tools)} @tool functions ({found})")
        return next(iter(tools.values()))
    func = getattr(module, function, None)
    if not callable(func):
        raise FlowError(f"{path.name}: no function {function!r} (tools here: {', '.join(sorted(tools)) or 'none'})")
    return func


def _import(path: Path, name: str, root: Path | None = None) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    folders = list(dict.fromkeys(str(f) for f in (path.parent, root) if f is not None))
    before = set(sys.modules)
    sys.path[:0] = folders
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] == "promptflow":
            hint = ("; install headrace's prompt flow compatibility package headrace-promptflow (headrace's "
                    "promptflow extra), or import from headrace.flows instead")
        raise FlowError(f"{path.name}: importing it failed: {type(exc).__name__}: {exc}{hint}") from exc
    finally:
        for folder in folders:
            sys.path.remove(folder)
        prefixes = tuple(f + sep for f in folders for sep in ("/", "\\"))
        for added in set(sys.modules) - before - {name}:  # modules of the flow folder: private to this file
            file = getattr(sys.modules[added], "__file__", None) or ""
            if file.startswith(prefixes):
                del sys.modules[added]
    return module


def call_args(func: Callable, values: dict[str, Any], node: str, *, typed: Collection[str] | None = None,
              bypassed: Collection[str] = (), connect: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """The keyword arguments for a tool call, each value in ``typed`` converted by the parameter's type hint.

    Only flow inputs and literals are converted, as in prompt flow (``typed``: their keys; None converts
    every value): an upstream node's output arrives as the node returned it. A parameter without a hint is
    typed by its default (``count=2`` receives ``"2"`` as 2); one with neither, or with a hint that is not a
    flow type, gets the value as is. A ``bypassed`` input (its node did not run) is left out when the
    parameter has a default, so the default applies, and is None otherwise.

    A connection's name given to a parameter typed as a connection gets the connection, found by ``connect``:
    ``headrace.flows.connections.Connection`` itself, or any class with a ``from_headrace_connection``
    classmethod (the ``promptflow`` compatibility package's ``OpenAIConnection``, ``CustomConnection``...;
    with a union of them, the one whose ``HEADRACE_TYPES`` holds the connection's type).

    Raises:
        FlowNodeError: an unknown parameter, a missing required one, or a value that does not fit its hint.
    """
    params, hints, takes_kwargs = _signature(func)
    unknown = [k for k in values if k not in params and not takes_kwargs]
    if unknown:
        raise FlowNodeError(node, f"{func.__name__}() has no parameter {', '.join(map(repr, unknown))} "
                                  f"(it takes: {', '.join(params) or 'nothing'})")
    if bypassed:
        values = {k: v for k, v in values.items()
                  if k not in bypassed or k not in params or params[k].default is params[k].empty}
    missing = [n for n, p in params.items() if p.default is p.empty and n not in values
               and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if missing:
        raise FlowNodeError(node, f"{func.__name__}() needs {', '.join(map(repr, missing))}: give it in the "
                                  f"node's inputs")
    args = {}
    for key, value in values.items():
        hint = hints.get(key)
        if isinstance(value, str) and connect is not None and _connection_classes(hint):
            args[key] = _connection(_connection_classes(hint), connect(value))
            continue
        if typed is not None and key not in typed:
            args[key] = value
            continue
        default = params[key].default if key in params else None
        if hint is None and type(default) in _HINT_KINDS:
            hint = type(default)  # as prompt flow does: `count=2` without a hint is an int parameter
        try:
            args[key] = _by_hint(hint, value)
        except ValueError as exc:
            raise FlowNodeError(node, f"parameter {key!r}: {exc}") from None
    return args


def connection_arg(hint: Any, value: Any, connect: Callable[[str], Any] | None) -> Any:
    """``value`` as a connection object when ``hint`` is a connection class (or a union of them) and ``value``
    a connection's name that ``connect`` finds (see ``call_args``); otherwise ``value`` unchanged."""
    classes = _connection_classes(hint)
    if isinstance(value, str) and connect is not None and classes:
        return _connection(classes, connect(value))
    return value


def connection_parameters(func: Callable) -> set[str]:
    """The parameters of ``func`` typed with a connection class (a name given to them is a connection's)."""
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable string annotations: as call_args, no conversion
        return set()
    return {name for name, hint in hints.items() if name != "return" and _connection_classes(hint)}


def _connection_classes(hint: Any) -> list[Any]:
    from headrace.flows.connections import Connection

    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return [o for o in options if o is Connection or callable(getattr(o, "from_headrace_connection", None))]


def _connection(classes: list[Any], conn: Any) -> Any:
    """The connection as the first class that takes its type (or the first class)."""
    chosen = next((c for c in classes if conn.type in getattr(c, "HEADRACE_TYPES", ())), classes[0])
    return conn if not hasattr(chosen, "from_headrace_connection") else chosen.from_headrace_connection(conn)


_HINT_KINDS = {str: "string", int: "int", float: "double", bool: "bool", list: "list", dict: "object"}


@functools.lru_cache(maxsize=1024)
def _signature(func: Callable) -> tuple[types.MappingProxyType, dict[str, Any], bool]:
    """(parameters, type hints, takes ``**kwargs``) of a tool, read once: the same for every call."""
    params = inspect.signature(func).parameters
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable string annotations: skip conversion rather than fail the call
        hints = {}
    return params, hints, any(p.kind is p.VAR_KEYWORD for p in params.values())


def _by_hint(hint: Any, value: Any) -> Any:
    if value is None or hint is None or hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) != 1:
            return value  # a real union: the tool sorts it out
        return _by_hint(options[0], value)
    if origin is typing.Annotated:
        return _by_hint(typing.get_args(hint)[0], value)
    base = origin or hint
    kind = _HINT_KINDS.get(base)
    if kind is None:
        return value
    if kind == "string" and not isinstance(value, str):
        # Only text-like scalars become text; a list passed to a str parameter is a wiring mistake.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"expected str, got {type(value).__name__}")
    return convert(kind, value)
