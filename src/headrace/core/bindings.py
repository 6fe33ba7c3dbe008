"""Azure ML's other ways to hand data to a step: `DataReference` and `PipelineData` input bindings.

A `DataReference` is a `DataPath` with its own name and mode, so everything that takes a `DataPath`
takes it. `PipelineData.as_input()` / `as_mount()` / `as_download()` return an `InputPortBinding`,
which a step unwraps to its `PipelineData` when it is built: the step still reads the producer's
output (in place on a local datastore, whatever the mode).
"""

from __future__ import annotations

from typing import Any

from headrace.core.params import BINDING_MODES, DataPath, PipelineData
from headrace.core.runconfig import DataReferenceConfiguration
from headrace.errors import DefinitionError


class DataReference(DataPath):
    """A path on a datastore given to a step as an input (Azure ML's older form of `DataPath`).

    Attributes:
        datastore: the datastore object (or name) given.
        data_reference_name: the name of the reference; defaults to a name derived from datastore and
            path (stable, unlike Azure ML's random one, so an unchanged pipeline stays the same pipeline).
        path_on_datastore: path relative to the datastore root.
        mode: "mount" (read in place) or "download" (copied first).
        path_on_compute, overwrite: recorded; headrace picks the local path itself.

    Example:
        >>> ref = DataReference("workspaceblobstore", "test_data", "titanic/Titanic.csv")
        >>> str(ref)
        '$AZUREML_DATAREFERENCE_test_data'
    """

    def __init__(self, datastore: Any, data_reference_name: str | None = None, path_on_datastore: str | None = None,
                 mode: str = "mount", path_on_compute: str | None = None, overwrite: bool = False):
        """Raises: DefinitionError: no datastore, or a mode other than "mount" and "download"."""
        if mode not in BINDING_MODES:
            raise DefinitionError([f"DataReference {data_reference_name or path_on_datastore!r}: mode {mode!r} is not "
                                   "supported for step inputs; use 'mount' or 'download' (steps write PipelineData)"])
        path = None if path_on_datastore in (".", "./", "/") else path_on_datastore
        super().__init__(datastore, path, name=data_reference_name)
        self.datastore = datastore
        self.data_reference_name = self.name
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def path(self, path: str | None = None, data_reference_name: str | None = None) -> DataReference:
        """A reference to ``path`` below this one (this one when ``path`` is empty or ".")."""
        if not path or path in (".", "./", "/"):
            return self if not data_reference_name else DataReference(self.datastore, data_reference_name,
                                                                      self.path_on_datastore)
        joined = f"{self.path_on_datastore.rstrip('/')}/{path}" if self.path_on_datastore else path
        return DataReference(self.datastore, data_reference_name, joined)

    def as_download(self, path_on_compute: str | None = None, overwrite: bool = False) -> DataReference:
        return self._with_mode("download", path_on_compute, overwrite)

    def as_mount(self) -> DataReference:
        return self._with_mode("mount", self.path_on_compute, self.overwrite)

    def to_config(self) -> DataReferenceConfiguration:
        """Azure ML's configuration form of this reference."""
        return DataReferenceConfiguration(self.datastore_name, self.mode, self.path_on_datastore or None,
                                          self.path_on_compute, self.overwrite)

    def _with_mode(self, mode: str, path_on_compute: str | None, overwrite: bool) -> DataReference:
        return DataReference(self.datastore, self.data_reference_name, self.path_on_datastore, mode,
                             path_on_compute, overwrite)

    def __str__(self) -> str:
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self) -> str:
        return (f"DataReference({self.datastore_name!r}, {self.data_reference_name!r}, {self.path_on_datastore!r}, "
                f"mode={self.mode!r})")


class InputPortBinding:
    """A `PipelineData` consumed under a given input name and mode (what `PipelineData.as_*()` returns).

    Attributes:
        pipeline_data: the data consumed.
        input_name: the name given (the data keeps its own name in headrace).
        mode: "mount" or "download"; the step reads the producer's output in place either way.
    """

    def __init__(self, pipeline_data: PipelineData, input_name: str | None = None, mode: str = "mount",
                 path_on_compute: str | None = None, overwrite: bool | None = None):
        if mode not in BINDING_MODES:
            raise DefinitionError([f"PipelineData {pipeline_data.name!r}: input mode {mode!r} is not supported; "
                                   "use 'mount' or 'download'"])
        self.pipeline_data = pipeline_data
        self.input_name = input_name or pipeline_data.name
        self.mode = mode
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite

    def __repr__(self) -> str:
        return f"InputPortBinding({self.pipeline_data.name!r}, input_name={self.input_name!r}, mode={self.mode!r})"


def unwrap(value: Any) -> Any:
    """A step's view of an argument or input: an `InputPortBinding` becomes its `PipelineData`."""
    return value.pipeline_data if isinstance(value, InputPortBinding) else value
