"""Pipeline definitions: parameters, data handles, steps and pipelines. Pure: no I/O, no services.

Build a `Pipeline` from `PythonScriptStep`s linked by `PipelineData`, check it with `validate()`, and
serialise it with `graph()` (format documented in `headrace.core.graph`). Names load on first use, so a
module of this package that needs none of them (a step's driver) imports fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DataPath": "params", "DataPathComputeBinding": "params", "GRAPH_FORMAT": "graph", "PARAMETER_TYPES": "params",
    "Pipeline": "pipeline", "PipelineData": "params", "PipelineParameter": "params", "PythonScriptStep": "step",
    "coerce_value": "coerce", "find_cycles": "graph", "resolve_closure": "graph", "topological_sort": "graph",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
