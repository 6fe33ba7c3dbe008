"""Per-step Dask resources: what a step asks of the worker that runs it (``{"GPU": 1, "MEMORY": 4e9}``).

Beyond Azure ML v1, which sizes a whole cluster (``AmlCompute`` ``vm_size``) and never a step. A step asks
through ``RunConfiguration(resources=...)`` (or ``runconfig.resources``), ``PythonScriptStep(resources=...)``
or ``ParallelRunConfig(resources=...)``; the step's own keys win over its runconfig's, and on a Dask target
the step's keys win over the target's (``headrace compute create --resources``), key by key.

Resources are placement, not content: they are frozen into the pipeline graph (so published and REST-submitted
pipelines carry them) but are not part of the reuse key; a step moved to a bigger worker computes the same
results. A Dask task holds its resources while it runs, so a worker declaring ``GPU=1`` runs one such step at a
time. The local target records them and says in the execution log that it does not enforce them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def resource_problems(where: str, value: Any) -> list[str]:
    """What is wrong with ``value`` as the resources of ``where`` (e.g. ``"step 'train'"``); empty when fine.

    A resource is a non-empty name (as ``dask worker --resources NAME=N`` declares it) and a number > 0.
    """
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [f"{where}: resources must be a dict such as {{'GPU': 1, 'MEMORY': 4e9}}, not {type(value).__name__}"]
    problems = []
    for name, amount in value.items():
        if not isinstance(name, str) or not name.strip() or any(c in name for c in "=, \t\n"):
            problems.append(f"{where}: resource name {name!r} must be a non-empty word such as 'GPU'")
        elif isinstance(amount, bool) or not isinstance(amount, int | float) or not amount > 0 \
                or amount == float("inf"):
            problems.append(f"{where}: resource {name!r} must be a positive number, not {amount!r}")
    return problems


def merged(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The resources of ``layers`` (lowest first): a later layer wins per key; non-mappings are skipped (they
    are reported by ``resource_problems``)."""
    out: dict[str, Any] = {}
    for layer in layers:
        if isinstance(layer, Mapping):
            out.update(layer)
    return out


def describe(resources: Mapping[str, Any]) -> str:
    """``GPU=1, MEMORY=4e+09``: resources as ``dask worker --resources`` writes them."""
    return ", ".join(f"{name}={_number(amount)}" for name, amount in sorted(resources.items()))


def _number(amount: Any) -> str:
    if isinstance(amount, float) and amount.is_integer() and abs(amount) < 1e6:
        return str(int(amount))
    return f"{amount:g}" if isinstance(amount, float) else str(amount)


def fits(wanted: Mapping[str, float], offered: Mapping[str, float]) -> bool:
    """Whether a worker declaring ``offered`` can ever run a task asking ``wanted`` (every key, enough of it)."""
    return all(float(offered.get(name, 0)) >= float(amount) for name, amount in wanted.items())
