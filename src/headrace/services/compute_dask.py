"""Dask compute targets: their settings, and what a step sent to one may use.

A Dask worker runs on another machine: it reaches the artifact area (snapshots, logs) and the
datastores through their URLs, never through this machine's disk. A step on a Dask target whose
artifact area or datastore is a local folder is refused when the pipeline is submitted, naming the
datastore, unless the target lists that folder in ``mounted_paths`` (every worker mounts it at the
same path).

Settings (the target's JSON ``config``):

- ``address``: the scheduler, ``tcp://host:8786`` (also ``tls://``, ``ws://``, ``wss://``, ``ucx://``).
- ``resources``: Dask resources every step of the target asks for, e.g. ``{"GPU": 1}``.
- ``connect_timeout``: seconds to reach the scheduler before the step fails (default 10).
- ``retries``: how often a step whose worker died is run again on another worker (default 1).
- ``mounted_paths``: local folders every worker mounts at the same path.
- ``max_parallel_steps``: most steps of one run sent at once (default 256; Dask queues the rest).
- ``no_worker_timeout``: seconds a step waits while the cluster has no worker at all before it
  fails (default 300).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from headrace.errors import ConfigError, DefinitionError, HeadraceError
from headrace.services.bundle import Services
from headrace.storage.records import ComputeTargetRecord

TYPE = "dask"
DEFAULTS: dict[str, Any] = {"connect_timeout": 10.0, "retries": 1, "max_parallel_steps": 256,
                            "no_worker_timeout": 300.0}
ADDRESS_RE = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/]+$")
_KEYS = {"address", "resources", "mounted_paths", *DEFAULTS}


def check_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config of Dask target ``name``, checked, with its defaults filled in.

    Raises:
        ConfigError: naming the bad setting and what it should be.
    """
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise ConfigError(f"compute target {name!r}: unknown Dask setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(_KEYS))}")
    address = config.get("address")
    if not isinstance(address, str) or not ADDRESS_RE.match(address):
        raise ConfigError(f"compute target {name!r}: address {address!r} is not a Dask scheduler address; "
                          "give one like tcp://scheduler-host:8786")
    clean: dict[str, Any] = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    clean["resources"] = _resources(name, clean.get("resources") or {})
    for key in ("connect_timeout", "no_worker_timeout"):
        value = clean[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"compute target {name!r}: {key} must be a number of seconds > 0, not {value!r}")
        clean[key] = float(value)
    for key, floor in (("retries", 0), ("max_parallel_steps", 1)):
        value = clean[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < floor:
            raise ConfigError(f"compute target {name!r}: {key} must be a whole number >= {floor}, not {value!r}")
    paths = clean.get("mounted_paths") or []
    if isinstance(paths, str) or not all(isinstance(p, str) and os.path.isabs(p) for p in paths):
        raise ConfigError(f"compute target {name!r}: mounted_paths must be a list of absolute folder paths")
    clean["mounted_paths"] = [os.path.normpath(p) for p in paths]
    return clean


def parse_resources(items: list[str]) -> dict[str, float]:
    """``["GPU=1", "MEMORY=4e9"]`` as a resources mapping.

    Raises:
        ConfigError: an item that is not NAME=NUMBER.
    """
    out: dict[str, float] = {}
    for item in items:
        key, eq, value = item.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            eq = ""
        if not eq or not key.strip():
            raise ConfigError(f"resource {item!r} is not NAME=NUMBER (e.g. GPU=1)")
    return out


def _resources(name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"compute target {name!r}: resources must be a mapping such as {{'GPU': 1}}")
    out = {}
    for key, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            raise ConfigError(f"compute target {name!r}: resource {key!r} must be a number > 0, not {amount!r}")
        out[str(key)] = float(amount)
    return out


def max_parallel(config: Mapping[str, Any]) -> int:
    return int(config.get("max_parallel_steps") or DEFAULTS["max_parallel_steps"])


def unreachable_local(local: str | None, mounted: list[str]) -> bool:
    """Whether a store at local folder ``local`` (None: not local) is out of the workers' reach."""
    if local is None:
        return False
    real = os.path.normpath(local)
    return not any(real == m or real.startswith(m.rstrip("/") + "/") for m in mounted)


def graph_problems(svc: Services, graph: Mapping[str, Any], targets: Mapping[str, ComputeTargetRecord],
                   parameters: Mapping[str, Any] | None = None) -> list[str]:
    """One problem per step on a Dask target that needs something only this machine's disk holds.

    ``parameters`` are a run's resolved values (None: the graph's defaults).
    """
    from headrace.services import datastores as ds_service

    problems: list[str] = []
    artifacts_checked: set[str] = set()
    for step in graph.get("steps") or []:
        record = targets.get(step.get("compute_target") or "local")
        if record is None or record.type != TYPE:
            continue
        mounted = list(record.config.get("mounted_paths") or [])
        hint = (f"use an object store (s3://, abfs://) or, if every worker of {record.name!r} mounts it at the "
                "same path, add that folder to the target's mounted_paths")
        if record.name not in artifacts_checked:
            artifacts_checked.add(record.name)
            if unreachable_local(svc.artifacts.local_path(""), mounted):
                problems.append(f"step {step['name']!r} runs on Dask target {record.name!r}, but the artifact area "
                                "(snapshots and logs) is a local folder its workers cannot reach: set "
                                f"HEADRACE_ARTIFACTS_URI to an object store or {hint.split(' or, ', 1)[1]}")
        for store_name in sorted(_datastores(graph, step, parameters)):
            try:
                local = ds_service.get_datastore(svc, store_name).local_path("")
            except HeadraceError:
                continue  # an unknown datastore is reported by the datastore check
            if unreachable_local(local, mounted):
                problems.append(f"step {step['name']!r} runs on Dask target {record.name!r}, but datastore "
                                f"{store_name!r} is a local folder its workers cannot reach: {hint}")
    return problems


def check_run(svc: Services, graph: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
    """At submit: a data path parameter may point a Dask step at a local datastore.

    Raises:
        DefinitionError: naming each step and datastore.
    """
    from headrace.services.compute import list_compute_targets

    if not any((s.get("compute_target") or "local") != "local" for s in graph.get("steps") or []):
        return
    targets = {r.name: r for r in list_compute_targets(svc)}
    problems = graph_problems(svc, graph, targets, parameters)
    if problems:
        raise DefinitionError(problems)


def _datastores(graph: Mapping[str, Any], step: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> set[str]:
    names = set()
    data = graph.get("data") or {}
    for name in [*step.get("inputs", []), *step.get("outputs", [])]:
        spec = data.get(name) or {}
        if spec.get("kind") == "parameter":
            value = (parameters or {}).get(spec["parameter"]) if parameters is not None else \
                (graph.get("parameters") or {}).get(spec["parameter"], {}).get("default")
            if isinstance(value, Mapping) and value.get("datastore"):
                names.add(str(value["datastore"]))
        elif spec.get("kind") != "dataset":  # a dataset's files are checked where it is staged
            names.add(str(spec.get("datastore") or "workspaceblobstore"))
    return names
