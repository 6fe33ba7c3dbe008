"""How a dataset reaches a step: ``dataset.as_named_input("name").as_mount()`` / ``.as_download(path)``."""

from __future__ import annotations

import copy
import re
from typing import Any

from headrace.errors import DefinitionError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DatasetConsumptionConfig:
    """A dataset as a named step input (Azure ML's class of the same name).

    Args:
        name: the input's name: ``Run.get_context().input_datasets[name]`` in the step, and an environment
            variable of that name. Letters, digits and ``_``.
        dataset: the dataset (or a ``PipelineParameter`` whose default is one).
        mode: ``"direct"`` (the step gets the dataset object), ``"mount"`` or ``"download"`` (a local path).
        path_on_compute: where a mount or download goes in the step's folder (optional).

    Raises:
        DefinitionError: an invalid name or mode.
    """

    def __init__(self, name: str, dataset: Any, mode: str = "direct", path_on_compute: str | None = None):
        if not isinstance(name, str) or not _NAME.match(name):
            raise DefinitionError([f"dataset input name {name!r}: use letters, digits and '_' (it becomes an "
                                   "environment variable)"])
        if mode not in ("direct", "mount", "download"):
            raise DefinitionError([f"dataset input {name!r}: mode must be direct, mount or download, not {mode!r}"])
        self.name = name
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    def _headrace_dataset_input(self) -> tuple[str, str, str | None, Any]:
        """(name, mode, path_on_compute, dataset or PipelineParameter): what ``core`` puts in the graph."""
        return self.name, self.mode, self.path_on_compute, self.dataset

    def _as(self, mode: str, path_on_compute: str | None) -> DatasetConsumptionConfig:
        other = copy.copy(self)
        other.mode, other.path_on_compute = mode, path_on_compute
        return other

    def as_mount(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self._as("mount", path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> DatasetConsumptionConfig:
        return self._as("download", path_on_compute)

    def __repr__(self) -> str:
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r})"
