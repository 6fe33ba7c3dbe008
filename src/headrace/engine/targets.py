"""Compute targets by name, resolved when a step needs one.

Names are stored objects (``headrace.services.compute``); the composition root gives the registry a
``resolve`` function that maps a name to the ``ComputeTarget`` that runs it and the most steps of a
run it takes at once. Several names may share one target (every "AmlCompute" name runs on the
local agent), so ``values()`` lists each target once, for cleanup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from headrace import clock
from headrace.core.resources import describe
from headrace.engine.compute import ComputeTarget, StepTask
from headrace.errors import ComputeError, HeadraceError

Resolver = Callable[[str], tuple[ComputeTarget, "int | None"]]

CACHE_SECONDS = 2.0
"""How long a name's resolution is kept: a step start must not read the store every time."""


class TargetRegistry:
    """``registry[name]`` is the target that runs steps naming ``name``.

    Args:
        resolve: name -> (target, max parallel steps or None); raises HeadraceError for an unknown name.
        targets: every target ``resolve`` may return.
    """

    def __init__(self, resolve: Resolver, targets: Sequence[ComputeTarget]):
        self._resolve = resolve
        self._targets = list(dict.fromkeys(targets))
        self._cache: dict[str, tuple[float, ComputeTarget, int | None]] = {}
        self._lock = threading.Lock()

    def _lookup(self, name: str) -> tuple[ComputeTarget, int | None]:
        now = clock.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1], hit[2]
        try:
            target, limit = self._resolve(name)
        except HeadraceError as exc:
            raise ComputeError(f"cannot run on compute target {name!r}: {exc}") from exc
        with self._lock:
            self._cache[name] = (now, target, limit)
        return target, limit

    def __getitem__(self, name: str) -> ComputeTarget:
        """Raises: ComputeError naming the target and why it cannot be used."""
        return self._lookup(name)[0]

    def max_parallel(self, name: str) -> int | None:
        """The most steps of one run that may run on ``name`` at once; None when unlimited or unknown."""
        try:
            return self._lookup(name)[1]
        except ComputeError:
            return None  # the step fails with the reason when it is given to its target

    def values(self) -> list[ComputeTarget]:
        return list(self._targets)


def placement(targets: Any, step: dict[str, Any], task: StepTask, log: list[str]) -> dict[str, Any]:
    """The step run properties saying where the step asks to be placed: ``{"resources": {...}}`` when it asks
    for resources (its own merged with its target's), else nothing. On a target that does not place steps by
    resources, ``log`` gets a line saying they are not enforced. An unknown target adds nothing else: the step
    fails with the reason when it is given to it."""
    try:
        target = targets[step["compute_target"]]
    except (HeadraceError, KeyError):
        return {"resources": dict(task.resources)} if task.resources else {}
    resources = target.resources_for(task)
    if resources and not getattr(target, "places_by_resources", False):
        log.append(f"resources {describe(resources)} recorded; compute target {step['compute_target']!r} does not "
                   "enforce them (they place steps on a Dask target only)")
    return {"resources": resources} if resources else {}
