"""Compute targets: named, stored places where steps run.

"local" always exists (this machine's agent, up to its parallel-step limit) and is not stored.
Every other name is a stored ``ComputeTargetRecord`` whose ``type`` says what runs it:
``AmlCompute`` (what Azure ML code provisions) runs on the local agent too, with ``max_nodes``
the most steps of a run that execute on it at once. ``dask`` sends its steps to a Dask cluster
(``services.compute_dask`` checks its config and what its steps may use); ``wiring`` builds the
target of each type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from headrace import clock
from headrace.errors import AlreadyExistsError, ConfigError, ConflictError, DefinitionError, NotFoundError
from headrace.services import compute_dask
from headrace.services.bundle import Services
from headrace.storage.records import ComputeTargetRecord

LOCAL = "local"
DASK = compute_dask.TYPE
TYPES = ("local", "AmlCompute", DASK)
"""Target types this version runs: the first two on the local agent, "dask" on a Dask cluster."""

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_BUILT_IN_AT = datetime(2000, 1, 1, tzinfo=UTC)
_INT_FIELDS = ("min_nodes", "max_nodes", "idle_seconds_before_scaledown")


def local_record() -> ComputeTargetRecord:
    """The built-in "local" target (never stored)."""
    return ComputeTargetRecord(name=LOCAL, type="local", created_at=_BUILT_IN_AT, updated_at=_BUILT_IN_AT,
                               config={}, description="this machine's agent")


def list_compute_targets(svc: Services) -> list[ComputeTargetRecord]:
    """Every compute target, "local" first, then the stored ones by name."""
    stored = [r for r in svc.store.list_compute_targets() if r.name != LOCAL]
    return [local_record(), *stored]


def get_compute_target(svc: Services, name: str) -> ComputeTargetRecord:
    """Raises: NotFoundError naming the configured targets."""
    if name == LOCAL:
        return local_record()
    try:
        return svc.store.get_compute_target(name)
    except NotFoundError:
        raise NotFoundError("compute target", name, f"configured targets: {_names(svc)}") from None


def create_compute_target(svc: Services, name: str, type: str, config: Mapping[str, Any] | None = None,
                          description: str | None = None, exist_ok: bool = True) -> ComputeTargetRecord:
    """Store a compute target; with ``exist_ok`` an existing target of the same type is returned
    unchanged (an admin's configuration wins over a script's provisioning request).

    Raises:
        ConfigError: a bad name, an unknown type or a bad config.
        AlreadyExistsError: the name is taken (by another type, or at all without ``exist_ok``).
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ConfigError(f"compute target name {name!r} is invalid; use a letter then up to 63 letters, "
                          "digits, '-' or '_'")
    if type not in TYPES:
        raise ConfigError(f"compute target type {type!r} is not supported; use one of {', '.join(TYPES)}")
    checker = compute_dask.check_config if type == DASK else check_config
    clean = checker(name, dict(config or {}))
    if name == LOCAL:
        if exist_ok and type == "local":
            return local_record()
        raise AlreadyExistsError("compute target", name, "'local' is built in")
    try:
        existing = svc.store.get_compute_target(name)
    except NotFoundError:
        now = clock.now()
        record = ComputeTargetRecord(name=name, type=type, created_at=now, updated_at=now, config=clean,
                                     description=description)
        try:
            return svc.store.create_compute_target(record)
        except AlreadyExistsError:  # created meanwhile by another process
            existing = svc.store.get_compute_target(name)
    if exist_ok and existing.type == type:
        return existing
    raise AlreadyExistsError("compute target", name, f"it is a {existing.type} target; delete it first or "
                             "pick another name")


def delete_compute_target(svc: Services, name: str) -> None:
    """Raises: ConflictError for "local"; NotFoundError."""
    if name == LOCAL:
        raise ConflictError("the 'local' compute target is built in and cannot be deleted")
    svc.store.delete_compute_target(name)


def check_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Check the node counts of a config; other keys (``vm_size``, ...) are kept as given.

    Raises:
        ConfigError: a count that is not a whole number ≥ 0, ``max_nodes`` < 1 or < ``min_nodes``.
    """
    for key in _INT_FIELDS:
        value = config.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"compute target {name!r}: {key} must be a whole number >= 0, not {value!r}")
    max_nodes, min_nodes = config.get("max_nodes"), config.get("min_nodes") or 0
    if max_nodes is not None and (max_nodes < 1 or max_nodes < min_nodes):
        raise ConfigError(f"compute target {name!r}: max_nodes must be >= 1 and >= min_nodes, not {max_nodes!r}")
    return config


def max_parallel(record: ComputeTargetRecord) -> int | None:
    """The most steps of one run that may run on the target at once (None: only the agent's limit)."""
    if record.type == DASK:
        return compute_dask.max_parallel(record.config)
    value = record.config.get("max_nodes")
    return value if isinstance(value, int) and value >= 1 else None


def graph_problems(svc: Services, graph: Mapping[str, Any]) -> list[str]:
    """One problem per step whose compute target does not exist, naming the configured ones."""
    targets = {r.name: r for r in list_compute_targets(svc)}
    known = set(targets)
    unknown = [
        f"step {step['name']!r}: compute target {step.get('compute_target')!r} does not exist; configured "
        f"targets: {', '.join(sorted(known))}. Create it (ComputeTarget.create(ws, name, "
        "AmlCompute.provisioning_configuration(max_nodes=N))) or use one of these"
        for step in graph.get("steps") or []
        if step.get("compute_target", LOCAL) not in known
    ]
    return unknown + compute_dask.graph_problems(svc, graph, targets)


def check_graph_compute(svc: Services, graph: Mapping[str, Any]) -> None:
    """Raises: DefinitionError listing every step whose compute target does not exist."""
    problems = graph_problems(svc, graph)
    if problems:
        raise DefinitionError(problems)


def _names(svc: Services) -> str:
    return ", ".join(r.name for r in list_compute_targets(svc))
