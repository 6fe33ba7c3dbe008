"""``PFClient`` and ``load_flow`` over headrace: flows test and batch-run in the local workspace.

A folder holding prompt flow's ``flow.dag.yaml`` (and no ``flow.yaml``) is imported into a temporary folder
first (``headrace.flows.importer``), once per process and version of the file; a headrace flow folder is used
as it is. Connections are the workspace's (``headrace connection create``, ``HEADRACE_CONNECTION_*``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["PFClient", "load_flow"]

_IMPORTED: dict[tuple[str, int], Path] = {}
_SUMMARY_METRICS = {"lines_completed", "lines_failed", "lines_resumed"}


def flow_folder(flow: str | Path) -> Path:
    """The headrace flow for ``flow`` (a folder, or a file in it), importing a prompt flow DAG; a flex flow
    folder or a ``.prompty`` file is returned as it is.

    Raises:
        FileNotFoundError: neither ``flow.yaml`` nor ``flow.dag.yaml`` is there.
        ValueError: the DAG has parts headrace cannot convert (listed).
    """
    from headrace.flows.entries import is_entry_path
    from headrace.flows.importer import import_promptflow

    path = Path(flow).resolve()
    if is_entry_path(path):  # a flex flow folder or a .prompty file: headrace runs them as they are
        return path
    if path.is_file():
        path = path.parent
    if (path / "flow.yaml").is_file():
        return path
    dag = path / "flow.dag.yaml"
    if not dag.is_file():
        raise FileNotFoundError(f"{path} holds neither flow.yaml nor flow.dag.yaml")
    key = (str(path), dag.stat().st_mtime_ns)
    if key not in _IMPORTED:
        out = Path(tempfile.mkdtemp(prefix="headrace-promptflow-")) / path.name
        report = import_promptflow(path, out)
        if report.unconverted:
            raise ValueError(f"{path}: headrace cannot run this flow as it is: " + "; ".join(report.unconverted))
        _IMPORTED[key] = out
    return _IMPORTED[key]


def _runner(extra: dict[str, Any] | None = None) -> Any:
    """The LLM runner over the local workspace's connections (and ``extra``: in-memory connection objects
    by name, found first and never stored)."""
    from headrace.config import load_settings
    from headrace.flows.llm_node import OpenAIRunner
    from headrace.services.connections import connection_lookup
    from headrace.wiring import build_services

    stored = connection_lookup(build_services(load_settings()))
    objects = {name: conn.to_headrace() for name, conn in (extra or {}).items() if hasattr(conn, "to_headrace")
               and conn.HEADRACE_TYPES != ("custom",)}
    return OpenAIRunner(lambda name: objects[name] if name in objects else stored(name))


class _LoadedFlow:
    """A flow callable as a function: ``flow(question="...")`` returns its outputs (raises if it fails).
    ``context`` (a ``FlowContext``) changes connections, fields, the variant or streaming for later calls."""

    def __init__(self, source: str | Path, init: dict[str, Any] | None = None, variant: str | None = None):
        from promptflow._context import FlowContext

        self.path = flow_folder(source)
        self._init, self._variant = init, variant
        self.context = FlowContext(variant=variant)
        self._loaded: tuple[Any, Any] | None = None  # (context it was loaded with, flow)

    def _flow(self) -> Any:
        from headrace.flows.executor import load_flow as load

        key = hash(self.context)
        if self._loaded is None or self._loaded[0] != key:
            connections, objects = self.context.resolved()
            flow = load(self.path, llm=_runner(objects), init=self._init, variant=self.context.variant,
                        connections=connections or None, overrides=self.context.overrides or None)
            self._loaded = (key, flow)
        return self._loaded[1]

    def __call__(self, *args: Any, **inputs: Any) -> dict[str, Any]:
        if args:
            raise TypeError("call the flow with keyword arguments: flow(question=...)")
        if self.context.streaming:
            from promptflow._streaming import streamed_call

            return streamed_call(self._flow(), inputs)
        return self._flow()(**inputs)

    def __repr__(self) -> str:
        return f"<flow {self.path}>"


def load_flow(source: str | Path, **_: Any) -> _LoadedFlow:
    """Load a flow folder (prompt flow's or headrace's) as a callable."""
    return _LoadedFlow(source)


class PFClient:
    """prompt flow's client over the local headrace workspace (``Workspace.from_config()``)."""

    def __init__(self, **_: Any):
        from promptflow._operations import ConnectionOperations, RunOperations

        self._ws: Any = None
        self.runs = RunOperations(self)
        self.connections = ConnectionOperations(self)

    @property
    def workspace(self) -> Any:
        if self._ws is None:
            from headrace.sdk.workspace import Workspace

            self._ws = Workspace.from_config()
        return self._ws

    def test(self, flow: str | Path, inputs: dict[str, Any] | None = None, init: dict[str, Any] | None = None,
             variant: str | None = None, **_: Any) -> dict[str, Any]:
        """Run one line and return its outputs (inputs default to the flow's defaults; ``init``: a flex
        flow class entry's ``__init__`` arguments).

        Raises:
            the line's error when it failed (a ``FlowNodeError`` naming the node).
        """
        return _LoadedFlow(flow, init, variant)(**(inputs or {}))

    def run(self, flow: str | Path, data: str | Path | None = None, run: Any = None,
            column_mapping: dict[str, Any] | None = None, name: str | None = None, display_name: str | None = None,
            tags: dict[str, str] | None = None, stream: bool = False, init: dict[str, Any] | None = None,
            variant: str | None = None, connections: dict[str, Any] | None = None,
            environment_variables: dict[str, str] | None = None, description: str | None = None,
            **_: Any) -> Any:
        """A batch run of ``flow`` over ``data`` (an evaluation of ``run``'s lines when ``run`` is given);
        waits for it and returns the run (a headrace ``PipelineRun``). ``connections``: other connections
        for some nodes (``{node: {"connection": NAME}}``); ``environment_variables``: for the flow's code."""
        from headrace.sdk.flow_runs import evaluate_flow, run_flow

        folder = flow_folder(flow)
        mapping = dict(column_mapping or {})
        if run is not None:
            submitted = evaluate_flow(self.workspace, folder, self._run(run), str(data) if data else None,
                                      mapping, tags=tags, description=description or display_name or name,
                                      init=init, variant=variant, connections=connections,
                                      environment_variables=environment_variables)
        else:
            if data is None:
                raise ValueError("PFClient.run needs data= (a .jsonl, .json or .csv file) or run= (to evaluate)")
            submitted = run_flow(self.workspace, folder, str(data), mapping, tags=tags,
                                 description=description or display_name or name, init=init, variant=variant,
                                 connections=connections, environment_variables=environment_variables)
        submitted.wait_for_completion(show_output=stream, raise_on_error=False)
        return submitted

    def get_details(self, run: Any, **_: Any) -> Any:
        """One row per line: ``inputs.X`` and ``outputs.Y`` columns (a pandas DataFrame when pandas is
        installed, else a list of dicts)."""
        from headrace.sdk.flow_runs import flow_summary

        run = self._run(run)
        local = (flow_summary(run).get("outputs") or {}).get("local_path")
        if not local:
            raise FileNotFoundError(f"run {run.id} has no local outputs.jsonl")
        rows = []
        for line in Path(local, "outputs.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                row = {f"inputs.{k}": v for k, v in (record.get("inputs") or {}).items()}
                row["inputs.line_number"] = record.get("line_number")
                row.update({f"outputs.{k}": v for k, v in (record.get("outputs") or {}).items()})
                rows.append(row)
        try:
            import pandas
        except ImportError:
            return rows
        return pandas.DataFrame(rows)

    def get_metrics(self, run: Any, **_: Any) -> dict[str, Any]:
        """The metrics the flow's aggregation nodes logged (``log_metric``)."""
        run = self._run(run)
        return {k: v for k, v in run.get_metrics().items() if k not in _SUMMARY_METRICS}

    def _run(self, run: Any) -> Any:
        if isinstance(run, str):
            from headrace.sdk.runs import PipelineRun

            return PipelineRun.get(self.workspace, run)
        return run
