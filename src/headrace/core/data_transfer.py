"""``DataTransferStep``: copy a file or folder from one datastore to another as a pipeline step.

Azure ML runs the copy on an Azure Data Factory; headrace copies it itself, on the step's compute target, file
by file through the datastores' streams (no whole file in memory). A ``DataFactoryCompute`` given as the
target is accepted and not used: the execution log says so. The copy is reused while the source's fingerprint
(and the destination) are unchanged.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from headrace.core._refs import data_ref
from headrace.core.bindings import unwrap
from headrace.core.output_dataset import OutputFileDatasetConfig
from headrace.core.params import DataPath, PipelineData
from headrace.core.step import PythonScriptStep
from headrace.errors import DefinitionError

REFERENCE_TYPES = ("file", "directory")


def empty_source_directory() -> str:
    """The folder a transfer step snapshots: an empty one, the same on every machine (so is its hash)."""
    folder = os.path.join(tempfile.gettempdir(), "headrace-empty-snapshot")
    os.makedirs(folder, exist_ok=True)
    return folder


def _reference_type(value: Any, field: str, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in REFERENCE_TYPES:
        raise DefinitionError([f"step {label!r}: {field} {value!r} is invalid; possible values: 'file', 'directory'"])
    return value.lower()


class DataFactoryCompute:
    """Azure ML's Data Factory compute, accepted so a ``DataTransferStep``'s code runs unchanged: headrace copies
    the data itself, so the factory is named in the step's execution log and not used.

    Example:
        >>> data_factory = DataFactoryCompute(ws, "adftest")
    """

    def __init__(self, workspace: Any = None, name: str = "data-factory"):
        self.workspace = workspace
        self.name = name

    @staticmethod
    def provisioning_configuration(compute_location: str | None = None) -> dict[str, Any]:
        """Accepted for Azure ML code; nothing is provisioned."""
        return {"compute_location": compute_location}

    def wait_for_completion(self, show_output: bool = False) -> None:
        """Nothing to wait for."""

    def __repr__(self) -> str:
        return f"DataFactoryCompute(name={self.name!r})"


class DataTransferStep(PythonScriptStep):
    """Copy data between datastores (Azure ML's ``azureml.pipeline.steps.DataTransferStep``).

    Attributes:
        source_data_reference: what is copied.
        destination_data_reference: where it is copied to, as given.
        source_reference_type, destination_reference_type: "file", "directory" or None (guessed at run time:
            the source's own type; for the destination, what exists there, else the source's type).

    Example:
        >>> from headrace import DataReference
        >>> step = DataTransferStep(name="copy", source_data_reference=DataReference(lake, "raw", "raw"),
        ...                         destination_data_reference=DataReference(blob, "copy", "raw_copy"))
        >>> later = PythonScriptStep("train.py", arguments=["--data", step.get_output()], inputs=[step.get_output()])
    """

    kind = "data_transfer"

    def __init__(self, name: str, source_data_reference: Any = None, destination_data_reference: Any = None,
                 compute_target: Any = None, source_reference_type: str | None = None,
                 destination_reference_type: str | None = None, allow_reuse: bool = True):
        """Create a transfer step.

        Args:
            name: the step name (required).
            source_data_reference: a ``DataReference``, ``DataPath``, ``PipelineData`` (or its ``as_input()``),
                ``OutputFileDatasetConfig`` (or ``.as_input()``), or a file dataset (or its ``as_named_input()``):
                the files of the version pinned at submit.
            destination_data_reference: a ``DataReference`` (the copy lands at its path), ``PipelineData`` or
                ``OutputFileDatasetConfig`` (the copy lands where that output lives).
            compute_target: a compute target that runs the copy; a ``DataFactoryCompute`` (Azure ML's only
                choice) or None means "local", and the execution log says the Data Factory is not used.
            source_reference_type: "file" or "directory"; default: what the source is.
            destination_reference_type: "file" or "directory"; default: what exists at the destination, else
                the source's type.
            allow_reuse: reuse the earlier copy while the source is unchanged.

        Raises:
            DefinitionError: a missing name, source or destination, a destination of another kind, or an
                invalid reference type.
        """
        label = name if isinstance(name, str) else repr(name)
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError([f"DataTransferStep: name {name!r} is invalid; give the step a non-empty str name"])
        problems = []
        source = unwrap(source_data_reference)
        if data_ref(source) is None and callable(getattr(source, "as_named_input", None)):  # a dataset itself
            source = source.as_named_input(re.sub(r"\W", "_", f"{name}_source"))
        if source is None or data_ref(source) is None:
            problems.append(f"step {label!r}: source_data_reference {source_data_reference!r} is invalid; give a "
                            "DataReference, DataPath, PipelineData, OutputFileDatasetConfig or a file dataset input")
        destination = unwrap(destination_data_reference)
        if not isinstance(destination, DataPath | PipelineData):
            problems.append(f"step {label!r}: destination_data_reference {destination_data_reference!r} is invalid; "
                            "give a DataReference, PipelineData or OutputFileDatasetConfig")
        if problems:
            raise DefinitionError(problems)
        self.source_reference_type = _reference_type(source_reference_type, "source_reference_type", label)
        self.destination_reference_type = _reference_type(destination_reference_type, "destination_reference_type",
                                                          label)
        self.ignored_compute: str | None = None
        if isinstance(compute_target, DataFactoryCompute):
            self.ignored_compute = str(getattr(compute_target, "name", None) or "data factory")
            compute_target = None
        compute_target = compute_target or "local"
        self.source_data_reference = source_data_reference
        self.destination_data_reference = destination_data_reference
        output = destination
        if isinstance(destination, DataPath):  # a fixed place on a datastore: an output that lands there
            safe = re.sub(r"\W", "_", f"{destination.name}_{name}")
            output = OutputFileDatasetConfig(safe, destination=(getattr(destination, "datastore", None)
                                                                or destination.datastore_name,
                                                                destination.path_on_datastore or ""))
        self._output = output
        super().__init__(script_name="(data transfer)", name=name, inputs=[source], outputs=[output],
                         compute_target=compute_target, source_directory=empty_source_directory(),
                         allow_reuse=allow_reuse)
        self.script_name = None  # type: ignore[assignment]

    def get_output(self) -> PipelineData:
        """The copied data, as a later step's input (a ``PipelineData``; ``.as_input(name)`` renames it)."""
        return self._output

    def transfer_record(self) -> dict[str, Any]:
        """The graph's ``transfer`` entry (see ``core.graph``)."""
        return {"source": data_ref(unwrap(self.inputs[0])).name,  # type: ignore[union-attr]
                "destination": self._output.name, "source_reference_type": self.source_reference_type,
                "destination_reference_type": self.destination_reference_type,
                "ignored_compute": self.ignored_compute}

    def __repr__(self) -> str:
        return f"DataTransferStep(name={self.name!r})"
