"""Flex flows (``flow.flex.yaml``): a flow that is Python code, ``entry: module:function`` or a class.

A class entry is built with its ``__init__`` arguments (``init``: a JSON object, prompt flow's ``--init``);
an argument whose parameter is typed with a dataclass (a model configuration) and given as a dict is built
into that class. The entry is called with the line's inputs (its defaults apply to the others); an
awaitable is awaited, a generator's or async generator's chunks are joined, and a dataclass result
becomes a dict (a TypedDict is one already). The folder is on ``sys.path`` (as in prompt flow) and the
flow's ``environment_variables`` are set before the entry is imported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from headrace.errors import FlowDefinitionError, FlowError, FlowInputError
from headrace.flows.tools import connection_arg

__all__ = ["FlexFlow", "is_flex", "load_flex"]

FLEX_FILE = "flow.flex.yaml"


def is_flex(folder: str | Path) -> bool:
    """True when ``folder`` holds a flex flow (``flow.flex.yaml``) and no ``flow.yaml``."""
    path = Path(folder)
    return (path / FLEX_FILE).is_file() and not (path / "flow.yaml").is_file()


def load_flex(folder: str | Path, init: dict[str, Any] | None = None, *,
              connect: Callable[[str], Any] | None = None, build: bool = True) -> FlexFlow:
    """Load a flex flow and build its entry.

    Args:
        folder: the folder with ``flow.flex.yaml``.
        init: a class entry's ``__init__`` arguments (default: the file's ``sample.init``).
        connect: finds a connection by name: an ``__init__`` parameter typed with a connection class
            (``AzureOpenAIConnection``...) and given a name then receives the connection, as in prompt flow.
        build: False: a class entry is only checked against ``init`` (its arguments bind), not built, so
            ``call`` is the class. For reading the signature before the connections are at hand.

    Raises:
        FlowDefinitionError: the file or its entry is invalid, or the module fails to import.
    """
    return FlexFlow(Path(folder).resolve(), init, connect=connect, build=build)


class FlexFlow:
    """A loaded flex flow: ``flow(**inputs)`` returns the entry's output.

    Attributes:
        folder: the flow's folder.
        entry: ``module:name`` as written.
        sample: the file's ``sample.inputs`` (used when a test gives no inputs).
    """

    def __init__(self, folder: Path, init: dict[str, Any] | None = None, *,
                 connect: Callable[[str], Any] | None = None, build: bool = True):
        self.connect = connect
        file = folder / FLEX_FILE
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise FlowDefinitionError([f"cannot read it: {exc}"], flow=str(file)) from exc
        entry = str(data.get("entry") or "")
        module_name, _, attr = entry.partition(":")
        if not module_name or not attr:
            raise FlowDefinitionError([f"entry {entry!r} must be MODULE:FUNCTION or MODULE:CLASS"], flow=str(file))
        self.folder, self.entry = folder, entry
        self.init_args: dict[str, Any] = {}  # a class entry's __init__ arguments (given or the sample's)
        sample = _file_ref(data.get("sample"), folder)
        sample = sample if isinstance(sample, dict) else {}
        inputs = _file_ref(sample.get("inputs"), folder)
        self.sample: dict[str, Any] = dict(inputs) if isinstance(inputs, dict) else {}
        for key, value in (data.get("environment_variables") or {}).items():
            os.environ[str(key)] = str(value)
        # additional_includes: prompt flow copies them into the flow's snapshot; importable from where they are.
        for include in data.get("additional_includes") or []:
            where = str((folder / str(include)).resolve().parent)
            if where not in sys.path:
                sys.path.append(where)
        target = self._import(module_name, file)
        if not hasattr(target, attr):
            raise FlowDefinitionError([f"entry {entry!r}: {module_name} has no {attr!r}"], flow=str(file))
        found = getattr(target, attr)
        if inspect.isclass(found):
            sample_init = _file_ref(sample.get("init"), folder)
            args = init if init is not None else dict(sample_init or {})
            self.init_args = dict(args)
            found = self._build(found, args) if build else _checked(found, args)
        self.call = found

    def _import(self, module_name: str, file: Path) -> Any:
        path = self.folder.joinpath(*module_name.split(".")).with_suffix(".py")
        if not path.is_file():
            raise FlowDefinitionError([f"entry {self.entry!r}: no file {path.name} in {self.folder}"], flow=str(file))
        if str(self.folder) not in sys.path:
            sys.path.insert(0, str(self.folder))  # as prompt flow: the flow's own modules import each other
        unique = f"headrace_flex_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}_{path.stem}"
        spec = importlib.util.spec_from_file_location(unique, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[unique]
            raise FlowDefinitionError([f"importing {path.name} failed: {type(exc).__name__}: {exc}"],
                                      flow=str(file)) from exc
        return module

    def _build(self, cls: type, init: dict[str, Any]) -> Any:
        try:
            hints = typing.get_type_hints(cls.__init__)
        except Exception:
            hints = {}
        args = {}
        for name, value in init.items():
            hint = hints.get(name)
            if dataclasses.is_dataclass(hint) and isinstance(value, dict):
                args[name] = hint(**value)
            else:
                args[name] = connection_arg(hint, value, self.connect)
        try:
            return cls(**args)
        except TypeError as exc:
            raise FlowInputError(f"{cls.__name__}(...): {exc}; give its arguments with --init FILE.json",
                                 input="init") from exc

    def __call__(self, **inputs: Any) -> Any:
        """Call the entry with ``inputs`` and return its output (see the module docstring).

        Raises:
            FlowInputError: an input the entry does not take, or a missing one.
            FlowError: the entry raised (the cause is chained).
        """
        try:
            inspect.signature(self.call).bind(**inputs)
        except TypeError as exc:
            raise FlowInputError(str(exc), input=next(iter(inputs), "inputs")) from None
        try:
            return _plain(_finish(self.call(**inputs)))
        except FlowError:
            raise
        except Exception as exc:
            raise FlowError(f"{self.entry} failed: {type(exc).__name__}: {exc}") from exc


def _checked(cls: type, init: dict[str, Any]) -> type:
    """``cls`` once ``init`` binds to its ``__init__`` (the error ``_build`` gives otherwise)."""
    try:
        inspect.signature(cls).bind(**init)
    except TypeError as exc:
        raise FlowInputError(f"{cls.__name__}(...): {exc}; give its arguments with --init FILE.json",
                             input="init") from exc
    return cls


def _file_ref(value: Any, folder: Path) -> Any:
    """``${file:PATH}`` (prompt flow's spelling in ``sample``) read from the flow's folder: JSON parsed, a
    ``.jsonl`` file's first line; any other value as it is."""
    if not isinstance(value, str) or not value.startswith("${file:") or not value.endswith("}"):
        return value
    path = folder / value[len("${file:"):-1]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowDefinitionError([f"sample {value!r}: cannot read {path}: {exc}"],
                                  flow=str(folder / FLEX_FILE)) from exc
    if path.suffix == ".jsonl":
        text = next((line for line in text.splitlines() if line.strip()), "{}")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _finish(result: Any) -> Any:
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    if inspect.isasyncgen(result):
        return asyncio.run(_joined(result))
    if inspect.isgenerator(result):
        return "".join(map(str, result))
    return result


async def _awaited(result: Any) -> Any:
    value = await result
    return "".join([str(c) async for c in value]) if inspect.isasyncgen(value) else value


async def _joined(gen: Any) -> str:
    return "".join([str(c) async for c in gen])


def _plain(value: Any) -> Any:
    """Dataclass outputs become dicts (nested too); a generator field is joined like a generator result.

    Not ``dataclasses.asdict``: it deep-copies every field, and a generator cannot be copied."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(_finish(getattr(value, f.name))) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
