"""Step graphs: closure, ordering, cycles, and the serialised graph the engine runs.

`Pipeline.graph()` returns a JSON-serialisable dict; the engine, the store and the REST API depend on
its exact shape (format 1)::

    {"format": 1,
     "description": "..." or None,
     "parameters": {                         # every parameter any step references
         "pipeline_arg": {"type": "int", "default": 10},
         "input_data": {"type": "datapath",
                        "default": {"datastore": "workspaceblobstore", "path": "raw/data.csv"}}},
     "data": {                               # every data handle used as an input or output, by name
         "prepared": {"kind": "pipeline_data", "datastore": "workspaceblobstore" or None,
                      "producer": "prep"},
         "input_data": {"kind": "parameter", "parameter": "input_data", "mode": "mount"},
         "raw_ab12cd34": {"kind": "datapath", "datastore": "ds", "path": "raw/x.csv", "mode": "mount"}},
     "steps": [                              # topological order
         {"name": "prep", "kind": "python_script", "script_name": "prep.py",
          "source_directory": "/abs/path/scripts",
          "arguments": [{"literal": "--input"}, {"data": "input_data"}, {"literal": "--n"},
                        {"param": "pipeline_arg"}, {"literal": 5}],
          "inputs": ["input_data"], "outputs": ["prepared"],
          "parameters": ["pipeline_arg", "input_data"],
          "allow_reuse": True, "compute_target": "local", "environment_variables": {},
          "timeout_seconds": None,
          "depends_on": []}]}

Rules:

- `parameters[name].type` is one of "int", "float", "bool", "str", "datapath"; a datapath default is
  `{"datastore", "path"}`. Scalar defaults keep their JSON type.
- `data` kinds: "pipeline_data" (written by `producer`; `datastore` null means the service's default
  datastore), "parameter" (a `DataPath`-valued parameter, resolved at submit time) and "datapath" (a
  literal `DataPath`, keyed by its name). `mode` is "mount" or "download" (from a
  `DataPathComputeBinding`, default "mount"). A "pipeline_data" entry with `"file": true` (`is_directory=False`)
  is one file named after the data inside its folder: writer and readers are given that file's path.
- A step argument is exactly one of `{"literal": str|int|float|bool}`, `{"param": name}` (a scalar
  parameter) or `{"data": name}` (a key of `data`).
- A step's `parameters` lists its scalar parameters in argument order, then its data parameters in input
  order. `depends_on` lists the producers of its inputs, in input order, then the steps it `run_after`s,
  without repeats.
- Optional step keys: `runconfig` (the `RunConfiguration` given, as `core.runconfig.runconfig_record`
  writes it), `environment` (`{"name", "version", "hash", "spec"}` as `core.environment.environment_record`
  writes it; the engine builds it and the reuse key includes its hash), `version` (the step's version tag) and
  `resources` (`{"GPU": 1, "MEMORY": 4e9}`: the Dask resources the step asks for, its runconfig's merged with
  its own; placement only, not in the reuse key; see `core.resources`), and for a `ModuleStep` `snapshot` (its
  module version's source snapshot, taken when the version was published, so freezing does not take one) and
  `module` (`{"name", "id", "version"}`).
- A `"kind": "command"` step (`CommandStep`) has `command`: its argv, items as arguments are (the first a
  literal executable), `script_name` null and `arguments` empty; it runs `command` in its snapshot folder.
- A `"kind": "data_transfer"` step (`DataTransferStep`) has `script_name` null, one input and one output, and
  `transfer`: `{"source": input, "destination": output, "source_reference_type", "destination_reference_type"
  ("file", "directory" or null), "ignored_compute": the Data Factory's name or null}`; the target copies the
  input's files to the output's location.
- Steps appear in topological order; among steps that are ready together, definition order is kept.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from headrace.core._refs import data_ref, encode_argument, step_parameters
from headrace.core.dataset import dataset_json
from headrace.core.params import PipelineData, PipelineParameter
from headrace.core.runconfig import runconfig_record
from headrace.errors import CycleError

GRAPH_FORMAT = 1
"""Version of the dict produced by `build_graph`; bump it on any incompatible change."""

N = TypeVar("N", bound=Hashable)


def _pipeline_data_inputs(step: Any) -> list[PipelineData]:
    return [i for i in step.inputs if isinstance(i, PipelineData)]


def _run_after(step: Any) -> list[Any]:
    """The steps `step.run_after(...)` named (only real steps; validation reports the others)."""
    return [s for s in getattr(step, "_run_after", ()) if hasattr(s, "outputs") and hasattr(s, "_order")]


def resolve_closure(steps: Sequence[Any]) -> list[Any]:
    """Return `steps` plus every step upstream of them through `PipelineData` inputs and `run_after`.

    An input whose producer is already among the steps is left alone; otherwise every step that was
    built with that `PipelineData` in its outputs is pulled in, and then its own inputs are followed.
    Steps named by `run_after` are pulled in too.

    Args:
        steps: the steps given to the pipeline.

    Returns:
        The given steps in their order, followed by the pulled-in steps in definition order.
    """
    chosen = list(dict.fromkeys(steps))
    seen = set(chosen)
    produced = {id(o) for s in chosen for o in s.outputs}
    pulled: list[Any] = []
    queue = deque(chosen)
    while queue:
        step = queue.popleft()
        upstream = [p for d in _pipeline_data_inputs(step) if id(d) not in produced for p in d._producers]
        for producer in [*upstream, *_run_after(step)]:
            if producer not in seen:
                seen.add(producer)
                pulled.append(producer)
                queue.append(producer)
                produced.update(id(o) for o in producer.outputs)
    pulled.sort(key=lambda s: s._order)
    return chosen + pulled


def producers_by_data(steps: Iterable[Any]) -> dict[int, list[Any]]:
    """Map `id(PipelineData)` to the steps (among `steps`) that list it in their outputs."""
    found: dict[int, list[Any]] = {}
    for step in steps:
        for output in step.outputs:
            if isinstance(output, PipelineData) and step not in found.setdefault(id(output), []):
                found[id(output)].append(step)
    return found


def step_dependencies(steps: Sequence[Any]) -> dict[Any, list[Any]]:
    """Map each step to the steps among `steps` that produce its `PipelineData` inputs (in input order),
    then the steps among `steps` it runs after."""
    producers = producers_by_data(steps)
    members = set(steps)
    deps: dict[Any, list[Any]] = {}
    for step in steps:
        upstream: list[Any] = []
        for data in _pipeline_data_inputs(step):
            upstream.extend(p for p in producers.get(id(data), []) if p not in upstream)
        upstream.extend(p for p in _run_after(step) if p in members and p not in upstream)
        deps[step] = upstream
    return deps


def find_cycles(nodes: Sequence[N], deps: Mapping[N, Iterable[N]]) -> list[list[N]]:
    """Find dependency cycles.

    Args:
        nodes: every node, in definition order.
        deps: for each node, the nodes it depends on.

    Returns:
        One cycle through each node that lies on a cycle and is not already part of a reported cycle.
        Each cycle lists the nodes in data-flow order (each feeds the next) and repeats the first node at
        the end, e.g. `[a, b, a]`. Empty when the graph is acyclic.
    """
    cycles: list[list[N]] = []
    covered: set[N] = set()
    for start in nodes:
        if start in covered:
            continue
        # Shortest path from `start` back to itself along "depends on" edges.
        parent: dict[N, N] = {}
        queue = deque([start])
        while queue and start not in parent:
            node = queue.popleft()
            for dep in deps.get(node, ()):
                if dep not in parent:
                    parent[dep] = node
                    queue.append(dep)
        if start not in parent:
            continue
        path = [start]
        node = parent[start]
        while node != start:
            path.append(node)
            node = parent[node]
        path.append(start)
        # parent[x] depends on x, so walking the parents from start yields data-flow order.
        cycles.append(path)
        covered.update(path)
    return cycles


def topological_sort(nodes: Sequence[N], deps: Mapping[N, Iterable[N]]) -> list[N]:
    """Order nodes so each comes after everything it depends on, keeping `nodes` order among ready ones.

    Args:
        nodes: every node, in definition order.
        deps: for each node, the nodes it depends on (nodes outside `nodes` are ignored).

    Returns:
        The nodes in a stable topological order.

    Raises:
        CycleError: the dependencies form a cycle; `.problems` names the nodes of each cycle.
    """
    members = set(nodes)
    waiting = {n: {d for d in deps.get(n, ()) if d in members} for n in nodes}
    order: list[N] = []
    done: set[N] = set()
    pending = list(nodes)
    while pending:
        ready = next((n for n in pending if waiting[n] <= done), None)
        if ready is None:
            cycles = find_cycles(pending, deps)
            raise CycleError([" -> ".join(map(repr, c)) + " form a cycle" for c in cycles])
        pending.remove(ready)
        order.append(ready)
        done.add(ready)
    return order


def build_graph(
    steps: Sequence[Any],
    *,
    description: str | None,
    default_datastore_name: str | None,
    default_source_directory: str,
) -> dict[str, Any]:
    """Serialise valid, topologically ordered steps to the format described in this module's docstring.

    Args:
        steps: the pipeline's steps, already validated and in topological order.
        description: the pipeline description.
        default_datastore_name: datastore for `PipelineData` that names none (None: the service's default).
        default_source_directory: absolute folder for steps built without a `source_directory`.

    Returns:
        The graph dict.
    """
    parameters: dict[str, dict[str, Any]] = {}
    data: dict[str, dict[str, Any]] = {}
    producers = producers_by_data(steps)
    serialised = []
    for step in steps:
        params = step_parameters(step)
        for param in params:
            default = param.default_value
            parameters.setdefault(
                param.name,
                {"type": param.type, "default": default.to_json() if param.type == "datapath"
                 else dataset_json(default) if param.type == "dataset" else default},
            )
        for value in [*step.inputs, *step.outputs]:
            ref = data_ref(value)
            if ref is not None and ref.name not in data:
                data[ref.name] = _data_entry(ref, producers, default_datastore_name)
        depends_on: list[str] = []
        for data_input in _pipeline_data_inputs(step):
            for producer in producers.get(id(data_input), []):
                if producer.name not in depends_on:
                    depends_on.append(producer.name)
        depends_on += [p.name for p in _run_after(step) if p.name not in depends_on]
        extra = {"runconfig": runconfig_record(step.runconfig)} if getattr(step, "runconfig", None) else {}
        if getattr(step, "environment", None) is not None:
            extra["environment"] = step.environment._headrace_environment()
        if getattr(step, "version", None) is not None:
            extra["version"] = str(step.version)
        if getattr(step, "resources", None):
            extra["resources"] = dict(step.resources)
        if getattr(step, "snapshot", None) is not None:  # a ModuleStep: its version's frozen source
            extra.update(snapshot=step.snapshot, module=dict(step.module_ref))
        arguments = [encode_argument(a) for a in step.arguments]
        if step.kind == "command":  # the whole argv; a command step has no script
            extra["command"], arguments = [encode_argument(step.executable), *arguments], []
        if step.kind == "data_transfer":
            extra["transfer"] = step.transfer_record()
        serialised.append(
            {**extra,
                "name": step.name,
                "kind": step.kind,
                "script_name": step.script_name,
                "source_directory": step.source_directory or default_source_directory,
                "arguments": arguments,
                "inputs": [data_ref(i).name for i in step.inputs],  # type: ignore[union-attr]
                "outputs": [o.name for o in step.outputs],
                "parameters": [p.name for p in params],
                "allow_reuse": step.allow_reuse,
                "compute_target": step.compute_target,
                "environment_variables": dict(step.environment_variables),
                "timeout_seconds": step.timeout_seconds,
                "depends_on": depends_on,
            }
        )
    return {
        "format": GRAPH_FORMAT,
        "description": description,
        "parameters": parameters,
        "data": data,
        "steps": serialised,
    }


def _data_entry(
    ref: Any, producers: Mapping[int, list[Any]], default_datastore_name: str | None
) -> dict[str, Any]:
    if ref.kind == "pipeline_data":
        extra = ref.obj.graph_extra() if hasattr(ref.obj, "graph_extra") else {}
        if getattr(ref.obj, "is_directory", None) is False:  # Azure ML gives the script a file's path
            extra["file"] = True
        if getattr(ref.obj, "pipeline_output_name", None):  # PipelineRun.get_pipeline_output finds it by this
            extra["pipeline_output"] = ref.obj.pipeline_output_name
        return {
            "kind": "pipeline_data",
            "datastore": ref.obj.datastore_name or default_datastore_name,
            "producer": producers[id(ref.obj)][0].name,
            **extra,
        }
    if ref.kind == "parameter":
        return {"kind": "parameter", "parameter": ref.name, "mode": ref.mode}
    if ref.kind == "dataset":
        _, mode, path_on_compute, source = ref.obj._headrace_dataset_input()
        entry = {"kind": "dataset", "mode": mode, "path_on_compute": path_on_compute}
        if isinstance(source, PipelineParameter):
            return {**entry, "parameter": source.name}
        return {**entry, "dataset": dataset_json(source)}
    return {
        "kind": "datapath",
        "datastore": ref.obj.datastore_name,
        "path": ref.obj.path_on_datastore,
        "mode": ref.mode,
    }
