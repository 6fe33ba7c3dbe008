"""Graphs built elsewhere: a remote SDK builds a pipeline's graph client-side, uploads its step snapshots,
then stores the graph here and submits or publishes it by id.

A graph from the wire is untrusted: ``check_graph_shape`` verifies the structure the engine relies on
(``headrace.core.graph`` describes it), so a malformed graph is refused with every problem listed
instead of failing later inside an agent.
"""

from __future__ import annotations

import io
import re
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from typing import Any

from headrace.core.resources import resource_problems
from headrace.datastores.snapshots import DEFAULT_MAX_SNAPSHOT_BYTES, snapshot_hash, snapshot_key
from headrace.errors import DatastoreError, DefinitionError, HeadraceError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.compute import check_graph_compute
from headrace.services.parameters import convert
from headrace.services.runs import check_graph_datastores, pin_graph_datasets, store_graph, submit_frozen
from headrace.storage.records import PipelineRecord, RunRecord

_HASH = re.compile(r"^[0-9a-f]{64}$")
_PARAM_TYPES = ("int", "float", "bool", "str", "datapath", "dataset")
_DATA_KINDS = ("pipeline_data", "parameter", "datapath", "dataset")
_LITERALS = (str, int, float, bool)


def is_snapshot_hash(value: Any) -> bool:
    return isinstance(value, str) and bool(_HASH.match(value))


def has_snapshot(svc: Services, digest: str) -> bool:
    """Whether the artifact area holds the snapshot ``digest``."""
    return is_snapshot_hash(digest) and svc.artifacts.exists(snapshot_key(digest))


def snapshot_archive(svc: Services, digest: str) -> bytes:
    """The stored archive (tar.gz) of snapshot ``digest``.

    Raises:
        NotFoundError: no such snapshot (or not a snapshot hash).
    """
    if not has_snapshot(svc, digest):
        raise NotFoundError("snapshot", digest)
    return svc.artifacts.read_bytes(snapshot_key(digest))


def store_snapshot_archive(svc: Services, digest: str, data: bytes) -> bool:
    """Keep an uploaded snapshot archive (``store_snapshot``'s tar.gz) after checking it has hash ``digest``.

    Returns:
        True when stored, False when the snapshot was already there.

    Raises:
        DatastoreError: a malformed hash, an unreadable archive, or files that do not hash to ``digest``.
    """
    if not is_snapshot_hash(digest):
        raise DatastoreError(f"not a snapshot hash: {digest!r} (expected 64 lowercase hex digits)")
    if svc.artifacts.exists(snapshot_key(digest)):
        return False
    with tempfile.TemporaryDirectory(prefix="headrace-upload-") as tree:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                members = tar.getmembers()
                if sum(m.size for m in members) > DEFAULT_MAX_SNAPSHOT_BYTES:
                    raise DatastoreError(f"snapshot {digest} unpacks to more than {DEFAULT_MAX_SNAPSHOT_BYTES} bytes")
                tar.extractall(tree, members=members, filter="data")
        except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
            raise DatastoreError(f"snapshot {digest} is not a readable tar.gz archive: {exc}") from exc
        actual = snapshot_hash(tree, max_bytes=None)
    if actual != digest:
        raise DatastoreError(f"the uploaded archive's files hash to {actual}, not {digest}; upload it again")
    svc.artifacts.write_bytes(snapshot_key(digest), data)
    return True


def store_remote_graph(svc: Services, graph: Any) -> PipelineRecord:
    """Check a client-built graph (shape, snapshots, datastores) and store it.

    The content hash is computed exactly as for a pipeline frozen locally, so the same pipeline gets
    the same graph id either way.

    Raises:
        DefinitionError: every problem found (a missing snapshot names its step).
    """
    problems = check_graph_shape(graph)
    if problems:
        raise DefinitionError(problems)
    missing = [f"step {s['name']!r}: snapshot {s['snapshot']} was not uploaded; PUT /api/v1/snapshots/{{hash}} first"
               for s in graph["steps"] if not has_snapshot(svc, s["snapshot"])]
    if missing:
        raise DefinitionError(missing)
    check_graph_datastores(svc, graph)
    check_graph_compute(svc, graph)
    pin_graph_datasets(svc, graph)  # as freezing does locally: a direct dataset input is fixed now
    return store_graph(svc, graph)


def submit_graph(svc: Services, graph_id: str, experiment_name: str, **options: Any) -> tuple[RunRecord, bool]:
    """Queue a run of a stored graph; returns (run, created). ``options`` as ``runs.submit_frozen``.

    Raises:
        NotFoundError: no graph with this id.
        ParameterError: unknown parameter or wrong type.
    """
    return submit_frozen(svc, svc.store.get_pipeline(graph_id), experiment_name, return_created=True, **options)


def check_graph_shape(graph: Any) -> list[str]:
    """Every structural problem of a serialised graph (format 1); empty when the engine can run it."""
    if not isinstance(graph, Mapping):
        return ["the graph must be a JSON object"]
    if graph.get("format") != 1:
        return [f"unsupported graph format {graph.get('format')!r}: this server reads format 1"]
    params, data, steps = graph.get("parameters"), graph.get("data"), graph.get("steps")
    if not isinstance(params, Mapping) or not isinstance(data, Mapping) or not isinstance(steps, list) or not steps:
        return ["the graph needs 'parameters' and 'data' objects and a non-empty 'steps' list"]
    problems = [p for name, spec in params.items() for p in _param_problems(name, spec)]
    problems += [p for name, spec in data.items() for p in _data_problems(name, spec, params)]
    seen: set[str] = set()
    for i, step in enumerate(steps):
        problems += _step_problems(i, step, params, data, seen)
        if isinstance(step, Mapping) and isinstance(step.get("name"), str):
            seen.add(step["name"])
    for name, spec in data.items():
        if isinstance(spec, Mapping) and spec.get("kind") == "pipeline_data":
            producer = next((s for s in steps if isinstance(s, Mapping) and s.get("name") == spec.get("producer")), None)
            if producer is None or not isinstance(producer.get("outputs"), list) or name not in producer["outputs"]:
                problems.append(f"data {name!r}: its producer {spec.get('producer')!r} does not list it as an output")
    return problems


def _known(name: Any, names: Mapping[str, Any]) -> bool:
    return isinstance(name, str) and name in names


def _param_problems(name: Any, spec: Any) -> list[str]:
    if not isinstance(spec, Mapping) or not _known(spec.get("type"), dict.fromkeys(_PARAM_TYPES)):
        return [f"parameter {name!r}: needs a type among {', '.join(_PARAM_TYPES)}"]
    default = spec.get("default")
    if spec["type"] == "datapath" and not (isinstance(default, Mapping) and isinstance(default.get("datastore"), str)
                                           and isinstance(default.get("path"), str)):
        return [f"parameter {name!r}: a datapath default must be {{\"datastore\", \"path\"}}"]
    try:
        convert(spec["type"], str(name), spec.get("default"))
    except HeadraceError as exc:
        return [f"parameter {name!r}: invalid default: {exc}"]
    return []


def _data_problems(name: Any, spec: Any, params: Mapping[str, Any]) -> list[str]:
    if not isinstance(spec, Mapping) or not _known(spec.get("kind"), dict.fromkeys(_DATA_KINDS)):
        return [f"data {name!r}: needs a kind among {', '.join(_DATA_KINDS)}"]
    if spec.get("datastore") is not None and not isinstance(spec["datastore"], str):
        return [f"data {name!r}: 'datastore' must be a name"]
    target = params.get(spec["parameter"]) if _known(spec.get("parameter"), params) else None
    if spec["kind"] == "dataset":
        return _dataset_input_problems(name, spec, target)
    if spec["kind"] == "parameter" and not (isinstance(target, Mapping) and target.get("type") == "datapath"):
        return [f"data {name!r}: refers to {spec.get('parameter')!r}, which is not a datapath parameter"]
    if spec["kind"] == "datapath" and not (isinstance(spec.get("datastore"), str) and isinstance(spec.get("path"), str)):
        return [f"data {name!r}: a datapath needs 'datastore' and 'path' strings"]
    if not _known(spec.get("mode", "mount"), {"mount": 1, "download": 1}):
        return [f"data {name!r}: mode must be 'mount' or 'download'"]
    return []


def _dataset_input_problems(name: Any, spec: Mapping[str, Any], target: Any) -> list[str]:
    if "parameter" in spec:
        if not (isinstance(target, Mapping) and target.get("type") == "dataset"):
            return [f"data {name!r}: refers to {spec.get('parameter')!r}, which is not a dataset parameter"]
    else:
        try:
            convert("dataset", str(name), spec.get("dataset"))
        except HeadraceError as exc:
            return [f"data {name!r}: {exc}"]
    if not _known(spec.get("mode", "direct"), {"direct": 1, "mount": 1, "download": 1}):
        return [f"data {name!r}: a dataset input's mode must be 'direct', 'mount' or 'download'"]
    return []


def _argument_ok(arg: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    return isinstance(arg, Mapping) and len(arg) == 1 and (
        isinstance(arg.get("literal"), _LITERALS) or _known(arg.get("param"), params) or _known(arg.get("data"), data))


def _command_problems(what: str, command: Any, params: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """A command step's argv: a literal executable first, then arguments as a script step's."""
    if not isinstance(command, list) or not command or not isinstance(command[0], Mapping) \
            or not isinstance(command[0].get("literal"), str) or not command[0]["literal"]:
        return [f"{what}: 'command' must be a list starting with the executable ({{\"literal\": \"python\"}})"]
    return [f"{what}: command item {arg!r} is not a literal or a known parameter or data"
            for arg in command[1:] if not _argument_ok(arg, params, data)]


def _transfer_problems(what: str, step: Mapping[str, Any]) -> list[str]:
    """A data transfer copies its one input to its one output."""
    spec = step.get("transfer")
    if not isinstance(spec, Mapping) or [spec.get("source")] != step.get("inputs") \
            or [spec.get("destination")] != step.get("outputs"):
        return [f"{what}: 'transfer' must name the step's one input as 'source' and its one output as 'destination'"]
    return [f"{what}: {key} must be 'file', 'directory' or null" for key in ("source_reference_type",
            "destination_reference_type") if spec.get(key) not in (None, "file", "directory")]


def _step_problems(i: int, step: Any, params: Mapping[str, Any], data: Mapping[str, Any], before: set[str]) -> list[str]:
    if not isinstance(step, Mapping) or not isinstance(step.get("name"), str) or not step["name"]:
        return [f"steps[{i}] must be an object with a 'name'"]
    what = f"step {step['name']!r}"
    if step["name"] in before:
        return [f"{what}: duplicate step name"]
    problems = []
    if not is_snapshot_hash(step.get("snapshot")):
        problems.append(f"{what}: 'snapshot' must be the 64-hex hash of an uploaded snapshot")
    kind = step.get("kind", "python_script")
    if kind == "command":
        problems += _command_problems(what, step.get("command"), params, data)
    elif kind == "data_transfer":
        problems += _transfer_problems(what, step)
    elif not isinstance(step.get("script_name"), str) or not step["script_name"]:
        problems.append(f"{what}: 'script_name' must be a file name in the snapshot")
    if kind not in ("python_script", "command", "data_transfer"):
        problems.append(f"{what}: only python_script, command and data_transfer steps run on this server")
    if not isinstance(step.get("compute_target", "local"), str):
        problems.append(f"{what}: 'compute_target' must be a compute target name")
    lists = {k: step.get(k) for k in ("arguments", "inputs", "outputs", "parameters", "depends_on")}
    if not all(isinstance(v, list) for v in lists.values()):
        return problems + [f"{what}: {', '.join(lists)} must be lists"]
    problems += [f"{what}: argument {arg!r} is not a literal or a known parameter or data"
                 for arg in lists["arguments"] if not _argument_ok(arg, params, data)]
    problems += [f"{what}: unknown data {n!r}" for n in lists["inputs"] + lists["outputs"] if not _known(n, data)]
    problems += [f"{what}: unknown parameter {n!r}" for n in lists["parameters"] if not _known(n, params)]
    problems += [f"{what}: depends on {n!r}, which is not an earlier step"
                 for n in lists["depends_on"] if not _known(n, dict.fromkeys(before))]
    env = step.get("environment_variables") or {}
    if not isinstance(env, Mapping) or not all(isinstance(v, _LITERALS) for v in env.values()):
        problems.append(f"{what}: 'environment_variables' must map names to strings")
    timeout = step.get("timeout_seconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        problems.append(f"{what}: 'timeout_seconds' must be a positive number or null")
    problems += resource_problems(what, step.get("resources"))
    return problems
