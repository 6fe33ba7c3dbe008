"""``OutputFileDatasetConfig``: a step output that may land at a chosen path and become a dataset version.

It is a ``PipelineData`` (a later step reads it through ``as_input()``), with Azure ML's extras:
``destination=(datastore, "path/{run-id}/{output-name}")`` places the files (the two placeholders are
filled in per run), and ``register_on_complete(name)`` registers what the step wrote as a new version of
that dataset when the run ends. Unlike ``PipelineData``, it may be given in ``arguments`` only: the step
counts it as an output (and ``.as_input()`` as an input), as Azure ML does.
"""

from __future__ import annotations

import itertools
from typing import Any

from headrace.core.bindings import InputPortBinding
from headrace.core.params import PipelineData
from headrace.errors import DefinitionError

_unnamed = itertools.count(1)


class OutputFileDatasetConfig(PipelineData):
    """A step output with an optional destination and dataset registration.

    Args:
        name: the output's name (default ``output_<n>``, numbered in creation order).
        destination: ``(datastore, path)``; the path may hold ``{run-id}`` and ``{output-name}``.
            Default: the run's own folder on the default datastore, like any ``PipelineData``.
        source, partition_format: accepted for compatibility; not used.

    Raises:
        DefinitionError: a destination that is not a ``(datastore, path)`` pair.
    """

    def __init__(self, name: str | None = None, destination: Any = None, source: str | None = None,
                 partition_format: str | None = None):
        datastore = None
        self.destination_path: str | None = None
        if destination is not None:
            if not (isinstance(destination, tuple) and len(destination) == 2 and isinstance(destination[1], str)):
                raise DefinitionError([f"OutputFileDatasetConfig {name!r}: destination must be a (datastore, path) "
                                       f"pair, not {destination!r}"])
            datastore, self.destination_path = destination[0], destination[1].strip("/")
        super().__init__(name or f"output_{next(_unnamed)}", datastore=datastore)
        self.registration: dict[str, Any] | None = None

    def as_input(self, name: str | None = None) -> InputPortBinding:
        """This output as a later step's input."""
        return InputPortBinding(self, name or self.name)

    def as_mount(self, *args: Any, **kwargs: Any) -> OutputFileDatasetConfig:
        """Azure ML's output mode: the step writes a local folder uploaded when it ends (always, here)."""
        return self

    def as_upload(self, overwrite: bool = False, source_globs: Any = None) -> OutputFileDatasetConfig:
        return self

    def register_on_complete(self, name: str, description: str | None = None,
                             tags: dict[str, str] | None = None) -> OutputFileDatasetConfig:
        """Register the files the step wrote as a new version of dataset ``name`` when the run ends."""
        kind = (self.registration or {}).get("kind", "file")
        read = (self.registration or {}).get("read")
        self.registration = {"name": name, "description": description, "tags": dict(tags or {}), "kind": kind,
                             **({"read": read} if read else {})}
        return self

    def read_delimited_files(self, include_path: bool = False, separator: str = ",", header: bool = True,
                             partition_format: str | None = None, path_glob: str | None = None,
                             set_column_types: dict[str, Any] | None = None) -> OutputFileDatasetConfig:
        """Register the output as a tabular dataset of delimited files (with ``register_on_complete``)."""
        read = {"format": "delimited", "separator": separator, "header": bool(header), "include_path": include_path}
        self.registration = {**(self.registration or {}), "kind": "tabular", "read": read}
        return self

    def read_parquet_files(self, include_path: bool = False, partition_format: str | None = None,
                           path_glob: str | None = None, set_column_types: Any = None) -> OutputFileDatasetConfig:
        self.registration = {**(self.registration or {}), "kind": "tabular",
                             "read": {"format": "parquet", "include_path": include_path}}
        return self

    def graph_extra(self) -> dict[str, Any]:
        """What the graph's data entry adds for this output."""
        extra: dict[str, Any] = {}
        if self.destination_path:
            extra["destination"] = self.destination_path
        if self.registration and self.registration.get("name"):
            extra["register"] = dict(self.registration)
        return extra

    def __repr__(self) -> str:
        return f"OutputFileDatasetConfig({self.name!r}, datastore={self.datastore_name!r})"
