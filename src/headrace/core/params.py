"""Pipeline parameters and data handles: the values a pipeline definition is built from.

`PipelineParameter` is a named value that can be overridden at submit time. `DataPath` points at a
path on a datastore, `DataPathComputeBinding` says how a step sees it (mounted or downloaded), and
`PipelineData` is an intermediate result written by one step and read by others. All of them are
plain descriptions: nothing here touches a datastore.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from headrace.errors import DefinitionError

PARAMETER_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What a `PipelineParameter` name must look like (it becomes an environment variable suffix)."""

PIPELINE_DATA_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
"""What a `PipelineData` name must look like (letters, digits and underscores)."""

PARAMETER_TYPES = ("int", "float", "bool", "str", "datapath")
"""Every value of `PipelineParameter.type`."""

BINDING_MODES = ("mount", "download")
"""How a step may see a `DataPath`: mounted in place, or copied to local disk first."""

OUTPUT_MODES = ("mount", "upload")
"""How a step may write a `PipelineData`: into a mounted folder, or to local disk uploaded afterwards."""



def datastore_name_of(datastore: Any) -> str | None:
    """Return the name of a datastore given as an object with a `.name` attribute or as a str.

    Args:
        datastore: a `Datastore`-like object, a datastore name, or None.

    Returns:
        The name, or None when `datastore` is None.

    Raises:
        DefinitionError: `datastore` is neither a str nor has a str `.name`, or the name is empty.
    """
    if datastore is None:
        return None
    name = datastore if isinstance(datastore, str) else getattr(datastore, "name", None)
    if not isinstance(name, str) or not name:
        raise DefinitionError(
            [
                f"datastore {datastore!r} has no usable name; pass a Datastore object or a non-empty datastore name"
            ]
        )
    return name


def value_type(value: Any) -> str | None:
    """Return the parameter type name of a value, or None when the value cannot be a parameter default.

    A bool is reported as "bool", never "int" (the original SDK got this wrong).
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, DataPath):
        return "datapath"
    if callable(getattr(value, "_headrace_dataset", None)):  # a FileDataset or TabularDataset (sdk)
        return "dataset"
    return None


class DataPath:
    """A path on a datastore, usable as a step input or as the default of a `PipelineParameter`.

    Attributes:
        datastore_name: name of the datastore holding the data.
        path_on_datastore: path relative to the datastore root ("" for the root itself).
        name: name of the data reference; defaults to `<datastore>_<8 hex>`, derived from datastore and
            path so the same location always gets the same name.

    Example:
        >>> DataPath("workspaceblobstore", "raw/data.csv").datastore_name
        'workspaceblobstore'
    """

    def __init__(self, datastore: Any = None, path_on_datastore: str | None = None, name: str | None = None):
        """Create a data path.

        Args:
            datastore: a `Datastore`-like object (anything with a `.name`) or a datastore name. Required.
            path_on_datastore: path relative to the datastore root; None means the root.
            name: name of the reference; generated from datastore and path when None.

        Raises:
            DefinitionError: the datastore is missing or unnamed, or the path or name is not a str.
        """
        if datastore is None:
            raise DefinitionError(["DataPath needs a datastore; pass DataPath(datastore, path_on_datastore)"])
        self.datastore_name: str = datastore_name_of(datastore)  # type: ignore[assignment]
        self.datastore = None if isinstance(datastore, str) else datastore  # its workspace, for datasets
        if path_on_datastore is not None and not isinstance(path_on_datastore, str):
            raise DefinitionError(
                [f"DataPath path_on_datastore must be a str, not {type(path_on_datastore).__name__}"]
            )
        self.path_on_datastore: str = path_on_datastore or ""
        if name is None:
            digest = hashlib.sha1(f"{self.datastore_name}:{self.path_on_datastore}".encode()).hexdigest()
            name = f"{self.datastore_name}_{digest[:8]}"
        elif not isinstance(name, str) or not name:
            raise DefinitionError([f"DataPath name must be a non-empty str, not {name!r}"])
        self.name: str = name

    def to_json(self) -> dict[str, str]:
        """Return the `{"datastore": ..., "path": ...}` form used in pipeline graphs."""
        return {"datastore": self.datastore_name, "path": self.path_on_datastore}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataPath):
            return NotImplemented
        return (self.datastore_name, self.path_on_datastore, self.name) == (
            other.datastore_name,
            other.path_on_datastore,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.datastore_name, self.path_on_datastore, self.name))

    def __repr__(self) -> str:
        return f"DataPath({self.datastore_name!r}, {self.path_on_datastore!r}, name={self.name!r})"


class DataPathComputeBinding:
    """How a step sees a `DataPath`: pair it with the data in a tuple, `(param, binding)`.

    Attributes:
        mode: "mount" (read in place) or "download" (copied to local disk before the step starts).
        path_on_compute: where the data should appear on the compute, or None to let headrace choose.
        overwrite: whether an existing file at `path_on_compute` may be replaced.
    """

    def __init__(self, mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False):
        """Create a binding.

        Raises:
            DefinitionError: `mode` is not "mount" or "download".
        """
        if mode not in BINDING_MODES:
            raise DefinitionError(
                [f"DataPathComputeBinding mode {mode!r} is not supported; use 'mount' or 'download'"]
            )
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def __repr__(self) -> str:
        return f"DataPathComputeBinding(mode={self.mode!r}, path_on_compute={self.path_on_compute!r})"


class PipelineParameter:
    """A named pipeline input whose value can be changed at submit time.

    Attributes:
        name: the parameter name, unique within a pipeline.
        default_value: the value used when a submission does not set it.
        type: one of `PARAMETER_TYPES`, taken from the default ("bool" for True/False, never "int").

    Example:
        >>> PipelineParameter(name="pipeline_arg", default_value=10).type
        'int'
    """

    def __init__(self, name: str, default_value: Any):
        """Create a parameter.

        Args:
            name: letters, digits and underscores, not starting with a digit.
            default_value: an int, float, bool, str or `DataPath`.

        Raises:
            DefinitionError: the name is malformed or the default has an unsupported type.
        """
        if not isinstance(name, str) or not PARAMETER_NAME_RE.match(name):
            raise DefinitionError(
                [
                    f"PipelineParameter name {name!r} is invalid; use letters, digits and underscores, "
                    "starting with a letter or underscore"
                ]
            )
        kind = value_type(default_value)
        if kind is None:
            raise DefinitionError(
                [
                    f"PipelineParameter {name!r} has a default of type {type(default_value).__name__}; "
                    "use an int, float, bool, str, DataPath or a dataset"
                ]
            )
        if kind == "float" and not math.isfinite(default_value):
            raise DefinitionError(
                [f"PipelineParameter {name!r} has a non-finite default; use a finite float"]
            )
        self.name = name
        self.default_value = default_value
        self.type = kind

    def __repr__(self) -> str:
        return f"PipelineParameter(name={self.name!r}, default_value={self.default_value!r})"


class PipelineData:
    """Intermediate data written by one step (its `outputs`) and read by others (their `inputs`).

    Using the same object as one step's output and another step's input is what links the two steps.

    Attributes:
        name: letters, digits and underscores; unique among the pipeline's data.
        datastore_name: where the data is stored, or None for the pipeline's default datastore.
        output_name: name of the producing step's output (defaults to `name`).
        output_mode: "mount" or "upload".
        is_directory: whether the data is a folder (None: not stated).
    """

    def __init__(
        self,
        name: str,
        datastore: Any = None,
        output_name: str | None = None,
        output_mode: str = "mount",
        is_directory: bool | None = None,
        *,
        pipeline_output_name: str | None = None,
        training_output: Any = None,
    ):
        """Create a pipeline data handle (``pipeline_output_name`` is recorded; ``training_output`` says
        what a ``HyperDriveStep`` puts in it: its best trial's model file or metrics).

        Raises:
            DefinitionError: the name is malformed, the datastore has no name, or `output_mode` is unknown.
        """
        if not isinstance(name, str) or not PIPELINE_DATA_NAME_RE.match(name):
            raise DefinitionError(
                [f"PipelineData name {name!r} is invalid; use only letters, digits and underscores"]
            )
        if output_mode not in OUTPUT_MODES:
            raise DefinitionError(
                [
                    f"PipelineData {name!r} output_mode {output_mode!r} is not supported; use 'mount' or 'upload'"
                ]
            )
        self.name = name
        self.datastore_name = datastore_name_of(datastore)
        self.output_name = output_name or name
        self.output_mode = output_mode
        self.is_directory = is_directory
        self.pipeline_output_name = pipeline_output_name
        self._training_output = training_output
        # Steps that list this object in their outputs, in construction order; lets a pipeline pull in
        # the producer of an input it was not given (resolve_closure).
        self._producers: list[Any] = []

    def as_input(self, input_name: str | None = None) -> Any:
        """This data as a step input under ``input_name`` (an `InputPortBinding`)."""
        return self._binding(input_name, "mount")

    def as_mount(self, input_name: str | None = None) -> Any:
        return self._binding(input_name, "mount")

    def as_download(self, input_name: str | None = None, path_on_compute: str | None = None,
                    overwrite: bool | None = None) -> Any:
        return self._binding(input_name, "download", path_on_compute, overwrite)

    def _binding(self, input_name: str | None, mode: str, path_on_compute: str | None = None,
                 overwrite: bool | None = None) -> Any:
        from headrace.core.bindings import InputPortBinding

        return InputPortBinding(self, input_name, mode, path_on_compute, overwrite)

    def __repr__(self) -> str:
        return f"PipelineData({self.name!r}, datastore={self.datastore_name!r})"
