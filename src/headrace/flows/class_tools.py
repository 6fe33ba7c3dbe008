"""Class-based tools, as prompt flow writes them: a class whose ``__init__`` takes settings (often a
connection) and one of whose methods is a ``@tool``.

The node's inputs fill both: those named like ``__init__``'s parameters build the instance, the others go to
the method. The instance is built once per distinct set of ``__init__`` arguments and reused, as prompt flow
builds it once per flow.
"""

from __future__ import annotations

import ast
import inspect
import threading
import typing
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["class_tool_params", "class_tools"]


def class_tool_params(cls: ast.ClassDef, is_tool: Callable[[ast.expr], bool]
                      ) -> list[tuple[str, tuple[str, ...], tuple[str, ...], bool, int]]:
    """For each ``@tool`` method of a class (read from its syntax tree): (name, params, required,
    takes ``**kwargs``, line), the params being ``__init__``'s and the method's, ``self`` left out."""
    methods = {m.name: m for m in cls.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)}
    init = _params(methods["__init__"]) if "__init__" in methods else ((), (), False)
    found = []
    for method in methods.values():
        if method.name != "__init__" and any(map(is_tool, method.decorator_list)):
            params, required, kwargs = _params(method)
            found.append((method.name, tuple(dict.fromkeys(init[0] + params)), init[1] + required, kwargs,
                          method.lineno))
    return found


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)][1:]  # without self
    defaults = len(args.defaults)
    required = positional[: len(positional) - defaults] if defaults else positional
    required += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    return (*positional, *(a.arg for a in args.kwonlyargs)), tuple(required), args.kwarg is not None


def class_tools(module: ModuleType, mark: str) -> dict[str, Callable]:
    """The ``@tool`` methods of the classes ``module`` defines, each as a function of all its inputs."""
    found: dict[str, Callable] = {}
    for cls in vars(module).values():
        if not inspect.isclass(cls) or cls.__module__ != module.__name__:
            continue
        for attr, method in vars(cls).items():
            if attr != "__init__" and callable(method) and getattr(method, mark, None):
                found.setdefault(attr, _bound(cls, attr, method))
    return found


def _bound(cls: type, attr: str, method: Callable) -> Callable:
    init_sig = inspect.signature(cls.__init__)
    init_names = [n for n, p in init_sig.parameters.items()
                  if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    instances: dict[str, Any] = {}
    lock = threading.Lock()

    def instance(kwargs: dict[str, Any]) -> Any:
        init = {k: kwargs.pop(k) for k in init_names if k in kwargs}
        key = repr(sorted(init.items()))
        with lock:
            if key not in instances:
                instances[key] = cls(**init)
            return instances[key]

    if inspect.iscoroutinefunction(method):
        async def run(**kwargs: Any) -> Any:
            return await getattr(instance(kwargs), attr)(**kwargs)
    else:
        def run(**kwargs: Any) -> Any:
            return getattr(instance(kwargs), attr)(**kwargs)

    params = [p.replace(kind=p.KEYWORD_ONLY) for n, p in init_sig.parameters.items() if n in init_names]
    params += [p.replace(kind=p.KEYWORD_ONLY) if p.kind is not p.VAR_KEYWORD else p
               for n, p in inspect.signature(method).parameters.items()
               if n != "self" and n not in init_names and p.kind is not p.VAR_POSITIONAL]
    params.sort(key=lambda p: p.kind is p.VAR_KEYWORD)
    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {**_hints(cls.__init__), **_hints(method)}
    run.__name__ = run.__qualname__ = attr
    run.__module__ = cls.__module__
    run.__doc__ = method.__doc__
    run.__dict__.update(method.__dict__)  # the @tool mark and its settings (thread=...)
    return run


def _hints(func: Callable) -> dict[str, Any]:
    try:
        return {k: v for k, v in typing.get_type_hints(func).items() if k != "return"}
    except Exception:  # unresolvable string annotations: no conversion, as for function tools
        return {}
