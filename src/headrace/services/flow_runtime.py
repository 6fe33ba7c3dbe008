"""Published flows at run time: snapshots materialised on disk, loaded flows kept in memory, the LLM runner.

A published flow version is a content-addressed snapshot of its folder. ``materialise`` extracts it once
into ``$HEADRACE_HOME/flows/<digest>`` (through a temporary folder renamed into place, so concurrent
callers, even in other server processes, never see half a tree). ``FlowRuntime`` keeps the loaded
``Flow`` of each digest in a bounded LRU: loading imports the flow's tools and reads its templates, which
is worth doing once, and the flow object runs any number of lines concurrently.

Also here, shared by the server's score routes and ``headrace flow serve``: which error a failed line
reports (``line_failure``) and which outputs a caller sees (``public_outputs``).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.datastores.snapshots import fetch_snapshot
from headrace.errors import FlowError, FlowNodeError, LLMError, TokenBudgetError
from headrace.flows.executor import Flow, load_flow
from headrace.services.bundle import Services
from headrace.services.connections import llm_runner

if TYPE_CHECKING:
    from headrace.flows.llm_node import LLMRunner
    from headrace.flows.spec import FlowSpec

__all__ = ["DEFAULT_CACHE_SIZE", "FlowRuntime", "line_failure", "materialise", "public_outputs"]

DEFAULT_CACHE_SIZE = 16
"""Loaded flows kept in memory per runtime (least recently used first out)."""

FLOWS_FOLDER = "flows"
"""Folder of ``$HEADRACE_HOME`` holding one extracted flow folder per snapshot digest."""


def materialise(svc: Services, digest: str) -> Path:
    """The folder holding the files of snapshot ``digest``, extracted on first use.

    Raises:
        DatastoreError: a malformed digest, or a snapshot that is missing or corrupt.
    """
    root = svc.home / FLOWS_FOLDER
    folder = root / digest
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    try:
        fetch_snapshot(digest, svc.artifacts, tmp, cache_dir=root / ".archives")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():  # else another process extracted the same tree first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


class FlowRuntime:
    """Loads published flows once and runs them with the workspace's LLM connections.

    Args:
        svc: the workspace's services.
        size: how many loaded flows to keep.
        llm: the runner for llm nodes (default: ``services.connections.llm_runner(svc)``).
    """

    def __init__(self, svc: Services, *, size: int = DEFAULT_CACHE_SIZE, llm: LLMRunner | None = None):
        self.svc = svc
        self.size = size
        self.llm = llm if llm is not None else llm_runner(svc)
        self._flows: OrderedDict[str, Flow] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def flow(self, digest: str) -> Flow:
        """The loaded flow of snapshot ``digest`` (materialised and loaded on first use).

        Raises:
            DatastoreError: the snapshot is missing or corrupt.
            FlowDefinitionError: the flow does not load.
        """
        with self._lock:
            found = self._flows.get(digest)
            if found is not None:
                self._flows.move_to_end(digest)
                return found
            loading = self._loading.setdefault(digest, threading.Lock())
        with loading:  # one load per digest; other callers of the same digest wait for it
            with self._lock:
                found = self._flows.get(digest)
            if found is None:
                found = load_flow(materialise(self.svc, digest), llm=self.llm)
            with self._lock:
                self._flows[digest] = found
                self._flows.move_to_end(digest)
                while len(self._flows) > self.size:
                    self._flows.popitem(last=False)
                self._loading.pop(digest, None)
        return found

    def __contains__(self, digest: str) -> bool:
        with self._lock:
            return digest in self._flows


def line_failure(error: FlowError) -> FlowError:
    """The error a failed line reports to an HTTP caller.

    The model API's failure (``LLMError``, answered 424 like Azure ML endpoints) and a prompt that cannot fit
    (``TokenBudgetError``, a 400: the caller's input is too long) have their own statuses, so they are
    looked for along the cause chain; any other failure is the ``FlowNodeError`` naming the node.
    """
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, TokenBudgetError):
            return cause
        if isinstance(cause, LLMError):
            if cause.node is None and isinstance(error, FlowNodeError):
                return LLMError(f"node {error.node!r}: {cause}", status=cause.status, node=error.node)
            return cause
        cause = cause.__cause__
    return error


def hidden_outputs(spec: FlowSpec) -> set[str]:
    """Outputs a served flow does not return: those marked ``evaluation_only`` (prompt flow's flag)."""
    return {name for name, out in spec.outputs.items() if getattr(out, "evaluation_only", False)}


def public_outputs(spec: FlowSpec, outputs: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` without the evaluation-only ones."""
    hidden = hidden_outputs(spec)
    return {k: v for k, v in outputs.items() if k not in hidden}
