"""The data behind the published pipeline and endpoint pages, read through the services (no HTML here).

Form fields are named ``p:<parameter>`` for scalars and ``ds:<parameter>`` / ``path:<parameter>`` for
data paths, so no parameter name can collide with ``csrf`` or ``experiment_name``.
"""

from __future__ import annotations

import json
import pprint
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headrace.errors import HeadraceError
from headrace.services import datastores, schedule_rules
from headrace.services.bundle import Services
from headrace.storage.records import (
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    ScheduleRecord,
)

RECENT_RUNS = 20
MAX_SUGGESTIONS = 200
INPUT_TYPES = {"int": ("number", "1"), "float": ("number", "any"), "bool": ("checkbox", None), "str": ("text", None)}


@dataclass
class ParamField:
    """One parameter of the submit form and of the parameter table."""

    index: int
    name: str
    type: str
    default: Any
    value: Any = None  # as shown in the form: text, a bool for checkboxes, (datastore, path) for data paths,
    # (dataset name, version) for datasets
    error: bool = False

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.type, ("text", None))[0]

    @property
    def step(self) -> str | None:
        return INPUT_TYPES.get(self.type, ("text", None))[1]

    @property
    def default_text(self) -> str:
        if self.type == "datapath" and isinstance(self.default, Mapping):
            return f"{self.default.get('datastore')}:{self.default.get('path')}"
        if self.type == "dataset" and isinstance(self.default, Mapping):
            if self.default.get("name"):
                return f"{self.default['name']} (version {self.default.get('version') or 'latest'})"
            return "an unregistered dataset" + (f" ({self.default['id'][:12]})" if self.default.get("id") else "")
        return json.dumps(self.default) if not isinstance(self.default, str) else self.default


@dataclass
class DataInput:
    """A data path a step reads: a DataPath parameter (chosen at submit time) or a fixed path."""

    name: str
    kind: str  # "parameter" or "fixed"
    datastore: str
    path: str
    mode: str
    steps: list[str] = field(default_factory=list)


@dataclass
class ScheduleRow:
    id: str
    name: str
    status: str
    trigger: str
    next_fire_at: datetime | None


@dataclass
class VersionRow:
    version: str
    published_pipeline_id: str
    name: str
    status: str
    added_at: datetime
    is_default: bool


def parameter_fields(declared: Mapping[str, Mapping[str, Any]], form: Mapping[str, Any] | None = None,
                     error_field: str | None = None) -> list[ParamField]:
    """The fields of the submit form, pre-filled with the defaults, or with what was posted in ``form``."""
    fields = []
    for index, (name, spec) in enumerate(declared.items()):
        kind, default = str(spec.get("type")), spec.get("default")
        item = ParamField(index, name, kind, default, error=name == error_field)
        if kind == "datapath":
            ds = default.get("datastore", "") if isinstance(default, Mapping) else ""
            path = default.get("path", "") if isinstance(default, Mapping) else ""
            item.value = (form.get(f"ds:{name}", ds), form.get(f"path:{name}", path)) if form else (ds, path)
        elif kind == "dataset":
            named = default if isinstance(default, Mapping) else {}
            shown = (str(named.get("name") or ""), str(named.get("version") or ""))
            item.value = (form.get(f"dsname:{name}", shown[0]), form.get(f"dsver:{name}", shown[1])) if form else shown
        elif kind == "bool":
            item.value = (f"p:{name}" in form) if form else bool(default)
        else:
            item.value = form.get(f"p:{name}", "") if form else ("" if default is None else str(default))
        fields.append(item)
    return fields


def form_overrides(declared: Mapping[str, Mapping[str, Any]], form: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter values of a posted form, as the submit services take them (they convert and check)."""
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        kind = spec.get("type")
        if kind == "datapath":
            values[name] = {"datastore": str(form.get(f"ds:{name}", "")).strip(),
                            "path": str(form.get(f"path:{name}", "")).strip()}
        elif kind == "dataset":
            chosen = str(form.get(f"dsname:{name}", "")).strip()
            if chosen:  # none chosen: the published default (an unregistered dataset has no name to pick)
                version = str(form.get(f"dsver:{name}", "")).strip() or "latest"
                values[name] = {"DataSetReference": {"Name": chosen, "Version": version}}
        elif kind == "bool":
            values[name] = f"p:{name}" in form  # an unchecked box is not posted
        else:
            values[name] = str(form.get(f"p:{name}", ""))
    return values


def data_inputs(graph: Mapping[str, Any]) -> list[DataInput]:
    """Every DataPath parameter and fixed data path of the graph, with the steps that read it."""
    found: dict[str, DataInput] = {}
    params = graph.get("parameters") or {}
    for name, entry in (graph.get("data") or {}).items():
        if entry.get("kind") == "parameter":
            default = (params.get(entry.get("parameter")) or {}).get("default") or {}
            found[name] = DataInput(name, "parameter", str(default.get("datastore", "")),
                                    str(default.get("path", "")), str(entry.get("mode", "mount")))
        elif entry.get("kind") == "datapath":
            found[name] = DataInput(name, "fixed", str(entry.get("datastore", "")), str(entry.get("path", "")),
                                    str(entry.get("mode", "mount")))
    for step in graph.get("steps") or []:
        for name in step.get("inputs") or []:
            if name in found:
                found[name].steps.append(str(step.get("name")))
    return list(found.values())


def path_suggestions(svc: Services, datastore: str, path: str) -> list[str]:
    """Files and folders near ``path`` on ``datastore`` for the path field's datalist (bounded).

    Only the default path's folder is listed (recursively below it; just the top level for a path at the
    root), so a datastore with a million files does not slow the page.
    """
    folder = path.rsplit("/", 1)[0] if "/" in path.strip("/") else ""
    try:
        files = datastores.get_datastore(svc, datastore).list(folder, recursive=bool(folder))
    except HeadraceError:
        return []  # an unreachable datastore only costs the suggestions
    entries: dict[str, None] = {}
    for info in files[:MAX_SUGGESTIONS]:
        parts = info.path.split("/")
        for depth in range(1, len(parts)):
            entries["/".join(parts[:depth]) + "/"] = None
        entries[info.path] = None
    return sorted(entries)[:MAX_SUGGESTIONS]


def schedule_rows(svc: Services, **target: str) -> list[ScheduleRow]:
    """The schedules of one published pipeline or endpoint (``published_pipeline_id=`` or ``pipeline_endpoint_id=``)."""
    return [ScheduleRow(s.id, s.name, s.status.value, _describe(s), s.next_fire_at)
            for s in svc.store.list_schedules(**target)]


def _describe(record: ScheduleRecord) -> str:
    try:
        return schedule_rules.describe(record)
    except (HeadraceError, KeyError, TypeError, ValueError):
        return f"{record.kind.value} (trigger not readable)"  # a malformed trigger must not break the page


def recent_runs(svc: Services, **target: str) -> tuple[list[RunRecord], bool]:
    """The latest runs of one published pipeline or endpoint, and whether there are more."""
    runs, cursor = svc.store.list_runs(limit=RECENT_RUNS, **target)
    return runs, cursor is not None


def version_rows(svc: Services, endpoint: PipelineEndpointRecord) -> list[VersionRow]:
    rows = []
    for v in sorted(endpoint.versions, key=lambda v: int(v.version) if v.version.isdigit() else 0, reverse=True):
        record = svc.store.get_published_pipeline(v.published_pipeline_id)
        rows.append(VersionRow(v.version, record.id, record.name, record.status.value, v.added_at,
                               v.version == endpoint.default_version))
    return rows


def default_experiment(record: PublishedPipelineRecord | PipelineEndpointRecord) -> str:
    return record.name.split("~archived~")[0] or "experiment"


# -- ready-to-copy snippets -------------------------------------------------------------------

def request_body(declared: Mapping[str, Mapping[str, Any]], experiment: str) -> dict[str, Any]:
    """The Azure ML v1 submit body with every parameter at its default."""
    scalars = {n: s.get("default") for n, s in declared.items() if s.get("type") != "datapath"}
    paths = {n: {"DataStoreName": (s.get("default") or {}).get("datastore"),
                 "RelativePath": (s.get("default") or {}).get("path")}
             for n, s in declared.items() if s.get("type") == "datapath"}
    body: dict[str, Any] = {"ExperimentName": experiment, "ParameterAssignments": scalars}
    if paths:
        body["DataPathAssignments"] = paths
    return body


def snippets(url: str, base: str, declared: Mapping[str, Mapping[str, Any]], experiment: str, *,
             published_id: str | None = None, endpoint_id: str | None = None,
             version: str | None = None) -> dict[str, str]:
    """curl, Python (httpx) and headrace SDK snippets submitting to ``url`` with the defaults (and, for an
    endpoint, ``version`` when it is not the default)."""
    body = request_body(declared, experiment)
    curl = (f"curl -X POST {shlex.quote(url)} \\\n"
            '  -H "Authorization: Bearer $HEADRACE_TOKEN" \\\n'
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(json.dumps(body, indent=2))}")
    python = ("import os\n\nimport httpx\n\n"
              f"response = httpx.post(\n    {url!r},\n"
              '    headers={"Authorization": f"Bearer {os.environ[\'HEADRACE_TOKEN\']}"},\n'
              f"    json={_py(body, 9)},\n    timeout=30,\n)\n"
              'response.raise_for_status()\nprint(response.json()["Id"])')
    params = ", ".join(
        f"{n!r}: DataPath({(s.get('default') or {}).get('datastore')!r}, {(s.get('default') or {}).get('path')!r})"
        if s.get("type") == "datapath" else f"{n!r}: {s.get('default')!r}" for n, s in declared.items())
    uses_paths = any(s.get("type") == "datapath" for s in declared.values())
    names = ["DataPath"] * uses_paths + (["PipelineEndpoint"] if endpoint_id else ["PublishedPipeline"]) + ["Workspace"]
    sdk = (f"import os\n\nfrom headrace import {', '.join(names)}\n\n"
           f'ws = Workspace(url={base!r}, token=os.environ["HEADRACE_TOKEN"])  # or Workspace.from_config()\n')
    if endpoint_id:
        sdk += (f"endpoint = PipelineEndpoint.get(ws, id={endpoint_id!r})\n"
                f"run = endpoint.submit({experiment!r}, pipeline_parameters={{{params}}}"
                + (f", pipeline_version={version!r})\n" if version else ")\n"))
    else:
        sdk += (f"pipeline = PublishedPipeline.get(ws, id={published_id!r})\n"
                f"run = pipeline.submit(ws, {experiment!r}, pipeline_parameters={{{params}}})\n")
    sdk += "run.wait_for_completion(show_output=True)"
    return {"curl": curl, "python": python, "sdk": sdk}


def _py(value: Any, indent: int) -> str:
    """A JSON value as Python source (True/False/None), continuation lines indented by ``indent``."""
    return pprint.pformat(value, width=100 - indent, sort_dicts=False).replace("\n", "\n" + " " * indent)
