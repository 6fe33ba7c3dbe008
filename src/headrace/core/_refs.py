"""Classify the values found in a step's arguments and inputs (shared by validation and serialisation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headrace.core.params import DataPath, DataPathComputeBinding, PipelineData, PipelineParameter

LITERAL_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class DataRef:
    """One use of a data handle by a step.

    Attributes:
        name: the key of the data in the graph's "data" section.
        kind: "pipeline_data", "parameter", "datapath" or "dataset" (a dataset input, Azure ML's
            ``DatasetConsumptionConfig``: ``dataset.as_named_input("x").as_mount()``).
        obj: the PipelineData, PipelineParameter or DataPath itself.
        mode: "mount" or "download" for parameters and data paths (from the binding); None for
            PipelineData.
        identity: equal for two refs that denote the same data (same object for PipelineData, same name
            for a parameter, same datastore and path for a DataPath).
    """

    name: str
    kind: str
    obj: Any
    mode: str | None
    identity: tuple[Any, ...]

    def describe(self) -> str:
        """A short description for error messages."""
        if self.kind == "pipeline_data":
            return f"PipelineData {self.name!r}"
        if self.kind == "parameter":
            return f"PipelineParameter {self.name!r}"
        if self.kind == "dataset":
            return f"dataset input {self.name!r}"
        return f"DataPath {self.name!r} ({self.obj.datastore_name}:{self.obj.path_on_datastore})"


def data_ref(value: Any) -> DataRef | None:
    """Return the DataRef for a data-like value, or None if the value is not one.

    Data-like values: PipelineData, DataPath, a PipelineParameter with a DataPath default, and a
    `(PipelineParameter-with-DataPath-default or DataPath, DataPathComputeBinding)` tuple.
    """
    mode: str | None = None
    dataset_input = getattr(value, "_headrace_dataset_input", None)
    if callable(dataset_input):
        name, mode, _, _ = dataset_input()
        return DataRef(name, "dataset", value, mode, ("dataset", name))
    if isinstance(value, tuple):
        if len(value) != 2 or not isinstance(value[1], DataPathComputeBinding):
            return None
        value, mode = value[0], value[1].mode
    elif isinstance(value, PipelineData):
        return DataRef(value.name, "pipeline_data", value, None, ("pipeline_data", id(value)))
    if isinstance(value, PipelineParameter) and value.type == "datapath":
        return DataRef(value.name, "parameter", value, mode or "mount", ("parameter", value.name))
    if isinstance(value, DataPath):
        if mode is None:  # not bound by a tuple: a DataReference carries its own mode
            mode = getattr(value, "mode", None) or "mount"
        identity = ("datapath", value.datastore_name, value.path_on_datastore)
        return DataRef(value.name, "datapath", value, mode, identity)
    return None


def encode_argument(value: Any) -> dict[str, Any] | None:
    """Return the graph form of one argument, or None if the value is not allowed as an argument."""
    if isinstance(value, LITERAL_TYPES):
        return {"literal": value}
    if isinstance(value, PipelineParameter) and value.type != "datapath":
        return {"param": value.name}
    ref = data_ref(value)
    return None if ref is None else {"data": ref.name}


def step_parameters(step: Any) -> list[PipelineParameter]:
    """Every PipelineParameter a step references: scalar ones in argument order, then data ones in input order.

    Parameters referenced where they are not allowed (a scalar in inputs, a data one only in arguments)
    come last, so validation can still compare their defaults.
    """
    found: dict[str, PipelineParameter] = {}
    scalars = [a for a in step.arguments if isinstance(a, PipelineParameter) and a.type != "datapath"]
    data = [r.obj for r in map(data_ref, step.inputs) if r is not None and r.kind == "parameter"]
    data += [source for r in map(data_ref, step.inputs) if r is not None and r.kind == "dataset"
             if isinstance(source := r.obj._headrace_dataset_input()[3], PipelineParameter)]
    for param in [*scalars, *data, *parameter_uses(step)]:
        found.setdefault(param.name, param)
    return list(found.values())


def parameter_uses(step: Any) -> list[PipelineParameter]:
    """Every PipelineParameter object in a step's arguments and inputs (bare or in a tuple), repeats kept."""
    uses = []
    for value in [*step.arguments, *step.inputs]:
        if isinstance(value, tuple) and value:
            value = value[0]
        if isinstance(value, PipelineParameter):
            uses.append(value)
    return uses
