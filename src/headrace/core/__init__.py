"""Pipeline definitions: parameters, data handles, steps and pipelines. Pure: no I/O, no services.

Build a `Pipeline` from `PythonScriptStep`s linked by `PipelineData`, check it with `validate()`, and
serialise it with `graph()` (format documented in `headrace.core.graph`).
"""

from headrace.core.graph import GRAPH_FORMAT, find_cycles, resolve_closure, topological_sort
from headrace.core.params import (
    PARAMETER_TYPES,
    DataPath,
    DataPathComputeBinding,
    PipelineData,
    PipelineParameter,
    coerce_value,
)
from headrace.core.pipeline import Pipeline
from headrace.core.step import PythonScriptStep

__all__ = [
    "DataPath",
    "DataPathComputeBinding",
    "GRAPH_FORMAT",
    "PARAMETER_TYPES",
    "Pipeline",
    "PipelineData",
    "PipelineParameter",
    "PythonScriptStep",
    "coerce_value",
    "find_cycles",
    "resolve_closure",
    "topological_sort",
]
