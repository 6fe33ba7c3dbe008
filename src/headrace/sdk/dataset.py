"""Azure ML v1 datasets: ``Dataset.File.from_files``, ``Dataset.Tabular.from_delimited_files``, versions.

A dataset object is a definition (paths, read options, transforms). Unregistered, it reads the files its
paths match when used. Registered, a version is pinned to a manifest of exact files: using it reads those
files, or fails naming the file that changed or vanished (a fix over Azure ML, where a version only names
paths).
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from typing import Any

from headrace.core.dataset import FILE, TABULAR, ManifestEntry, base_of, local_paths
from headrace.core.dataset_partitions import partition_keys_of
from headrace.errors import DatasetError
from headrace.sdk.dataset_backend import datasets_of
from headrace.storage.dataset_records import DatasetRecord


def _workspace_of(path: Any) -> Any:
    items = path if isinstance(path, list) else [path]
    for item in items:
        store = item[0] if isinstance(item, tuple) else getattr(item, "datastore", None)
        ws = getattr(store, "workspace", None)
        if ws is not None:
            return ws
    return None


class AbstractDataset:
    """What file and tabular datasets share: identity, registration, tags, named inputs."""

    _kind = FILE

    def __init__(self, definition: dict[str, Any], workspace: Any = None, record: DatasetRecord | None = None):
        self._definition = definition
        self._workspace = workspace
        self._record = record

    # -- identity ------------------------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        return self._record.name if self._record else None

    @property
    def version(self) -> int | None:
        return self._record.version if self._record else None

    @property
    def id(self) -> str | None:
        """The version's id. An unregistered dataset is saved when its id is first read (as Azure ML saves
        one on use): as an unnamed version pinned to the files it matches then."""
        if self._record is None and (self._workspace is not None or _has_url(self._definition)):
            backend = datasets_of(self._need_workspace())
            if hasattr(backend, "save"):
                self._saved = getattr(self, "_saved", None) or backend.save(self._definition)
                return self._saved.id
        return self._record.id if self._record else None

    @property
    def description(self) -> str | None:
        return self._record.description if self._record else None

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags) if self._record else {}

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def partition_keys(self) -> list[str]:
        """The keys of the dataset's ``partition_format`` ([] without one)."""
        return partition_keys_of(self._definition)

    def _headrace_dataset(self) -> dict[str, Any]:
        """The graph form of this dataset (``core.params.dataset_json``): pinned by id when registered."""
        if self._record is not None:
            return {"id": self._record.id, "name": self._record.name, "version": self._record.version,
                    "definition": self._definition}
        return {"id": None, "name": None, "version": None, "definition": self._definition}

    def _label(self) -> str:
        if self._record is None:
            return "(unregistered)"
        return f"{self.name}:{self.version}" if self.name else self._record.id

    # -- versions ------------------------------------------------------------------------------------------
    @staticmethod
    def get_by_name(workspace: Any, name: str, version: int | str = "latest") -> AbstractDataset:
        """A registered dataset version (the latest by default).

        Raises:
            NotFoundError: no such name (lists the registered ones) or version (lists the versions).
        """
        return _from_record(workspace, datasets_of(workspace).get_version(name, version))

    @staticmethod
    def get_by_id(workspace: Any, id: str) -> AbstractDataset:  # noqa: A002 - Azure ML's name
        return _from_record(workspace, datasets_of(workspace).get_by_id(id))

    @staticmethod
    def get_all(workspace: Any) -> dict[str, AbstractDataset]:
        """The latest version of every registered dataset, by name."""
        return {r.name or "": _from_record(workspace, r) for r in datasets_of(workspace).list()}

    def register(self, workspace: Any, name: str, description: str | None = None,
                 tags: dict[str, str] | None = None, create_new_version: bool = False) -> AbstractDataset:
        """Register this definition as a version of ``name``, pinned to the files it matches now.

        Raises:
            AlreadyExistsError: ``name`` exists and ``create_new_version`` is False.
        """
        record = datasets_of(workspace).register(self._definition, name=name, description=description,
                                                 tags=tags, create_new_version=create_new_version)
        if record.file_count == 0:
            warnings.warn(f"dataset {name!r} matches no file now; using it will fail until a version that "
                          "matches files is registered", UserWarning, stacklevel=2)
        return _from_record(workspace, record)

    def update(self, description: str | None = None, tags: dict[str, str] | None = None) -> AbstractDataset:
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if tags is not None:
            changes["tags"] = dict(tags)
        return _from_record(self._workspace, datasets_of(self._workspace).update(self._registered().id, **changes))

    def add_tags(self, tags: dict[str, str] | None = None) -> AbstractDataset:
        return self.update(tags={**self.tags, **(tags or {})})

    def remove_tags(self, tags: list[str] | None = None) -> AbstractDataset:
        return self.update(tags={k: v for k, v in self.tags.items() if k not in set(tags or [])})

    def unregister_all_versions(self) -> None:
        datasets_of(self._workspace).unregister(self._registered().name or "")

    def _registered(self) -> DatasetRecord:
        if self._record is None:
            raise DatasetError("this dataset is not registered: call register(workspace, name) first")
        return self._record

    # -- use -----------------------------------------------------------------------------------------------
    def as_named_input(self, name: str) -> Any:
        """This dataset as a named step input (``Run.get_context().input_datasets[name]`` in the step)."""
        from headrace.sdk.dataset_input import DatasetConsumptionConfig

        return DatasetConsumptionConfig(name, self)

    def _entries(self) -> list[ManifestEntry]:
        backend = datasets_of(self._need_workspace())
        if self._record is not None:
            return backend.verified(self._record)
        entries = backend.resolve(self._definition)
        if not entries:
            raise DatasetError(f"dataset {self._label()!r}: its paths match no file "
                               f"({', '.join(_describe(s) for s in self._definition['sources'])})")
        return entries

    def _need_workspace(self) -> Any:
        if self._workspace is None:
            if any("url" in s for s in self._definition["sources"]):  # URLs: the configured workspace reads them
                from headrace.sdk.workspace import Workspace

                self._workspace = Workspace.from_config()
                return self._workspace
            raise DatasetError("this dataset knows no workspace: build it from (datastore, path) or a DataPath")
        return self._workspace

    def _with(self, transform: dict[str, Any]) -> Any:
        definition = copy.deepcopy(self._definition)
        definition.setdefault("transforms", []).append(transform)
        return type(self)(definition, self._workspace)

    def __repr__(self) -> str:
        kind = type(self).__name__
        if self._record and self.name:
            return f"{kind}(name={self.name!r}, version={self.version}, files={self._record.file_count})"
        return f"{kind}(sources={self._definition['sources']!r})"


def _has_url(definition: dict[str, Any]) -> bool:
    return any("url" in s for s in definition.get("sources", []))


def _describe(source: dict[str, str]) -> str:
    return source.get("url") or f"{source['datastore']}:{source['path']}"


class FileDataset(AbstractDataset):
    """Files on datastores, referenced by paths or globs."""

    _kind = FILE

    def to_path(self) -> list[str]:
        """The files' paths relative to the common base of the dataset's paths, each starting with ``/``."""
        entries = self._entries()
        return ["/" + rel for rel in local_paths(self._definition["sources"], entries)]

    def download(self, target_path: str | os.PathLike[str] | None = None, overwrite: bool = False,
                 ignore_not_found: bool = False) -> list[str]:
        """Copy the files into ``target_path`` (a new temporary folder when None); returns their local paths.

        Raises:
            DatasetError: a file would overwrite a local one and ``overwrite`` is False; or see ``_entries``.
        """
        target = str(target_path) if target_path is not None else tempfile.mkdtemp(prefix="headrace-dataset-")
        entries = self._entries()
        if not overwrite:
            for rel in local_paths(self._definition["sources"], entries):
                dest = os.path.join(target, rel)
                if os.path.exists(dest):
                    raise DatasetError(f"{dest} exists; pass overwrite=True to replace it")
        return datasets_of(self._need_workspace()).download(self._definition, entries, target)

    @contextlib.contextmanager
    def mount(self, mount_point: str | os.PathLike[str] | None = None, **kwargs: Any) -> Iterator[str]:
        """A context manager giving a local folder holding the files (a download here, removed at exit
        when headrace made the folder)."""
        made = mount_point is None
        folder = tempfile.mkdtemp(prefix="headrace-mount-") if made else str(mount_point)
        try:
            self.download(folder, overwrite=True)
            yield folder
        finally:
            if made:
                shutil.rmtree(folder, ignore_errors=True)

    def take(self, count: int) -> FileDataset:
        return self._with({"op": "take", "count": int(count)})

    def skip(self, count: int) -> FileDataset:
        return self._with({"op": "skip", "count": int(count)})

    def random_split(self, percentage: float, seed: int | None = None) -> tuple[FileDataset, FileDataset]:
        """Two datasets, about ``percentage`` of the files in the first; the same ``seed`` splits the same."""
        return tuple(self._with({"op": "split", "percentage": float(percentage), "seed": seed, "side": side})
                     for side in (0, 1))  # type: ignore[return-value]

    def as_mount(self, path_on_compute: str | None = None) -> Any:
        return self.as_named_input(_auto_name(self)).as_mount(path_on_compute)

    def as_download(self, path_on_compute: str | None = None) -> Any:
        return self.as_named_input(_auto_name(self)).as_download(path_on_compute)


class TabularDataset(AbstractDataset):
    """Rows read from delimited, parquet or JSON lines files."""

    _kind = TABULAR

    def to_pandas_dataframe(self, on_error: str = "null", out_of_range_datetime: str = "null") -> Any:
        """All rows as a pandas DataFrame (the ``tabular`` extra).

        Raises:
            ConfigError: pandas is not installed (naming the extra).
            DatasetError: a file does not parse (naming it and the line).
        """
        from headrace.services.tabular import read_frame

        backend = datasets_of(self._need_workspace())
        return read_frame(self._definition, self._entries(), backend.read_bytes, self._label())

    def to_csv_files(self, separator: str = ",") -> FileDataset:
        """The rows as a CSV file on the default datastore (written once per distinct content)."""
        from headrace.sdk.dataset_convert import convert, write_csv

        return convert(self, ".csv", write_csv(separator))

    def to_parquet_files(self) -> FileDataset:
        """The rows as a parquet file on the default datastore (needs pyarrow: the ``tabular`` extra)."""
        from headrace.sdk.dataset_convert import convert, write_parquet

        return convert(self, ".parquet", write_parquet)

    def take(self, count: int) -> TabularDataset:
        return self._with({"op": "take", "count": int(count)})

    def skip(self, count: int) -> TabularDataset:
        return self._with({"op": "skip", "count": int(count)})

    def keep_columns(self, columns: str | list[str], validate: bool = False) -> TabularDataset:
        return self._with({"op": "keep_columns", "columns": [columns] if isinstance(columns, str) else list(columns)})

    def drop_columns(self, columns: str | list[str]) -> TabularDataset:
        return self._with({"op": "drop_columns", "columns": [columns] if isinstance(columns, str) else list(columns)})

    def random_split(self, percentage: float, seed: int | None = None) -> tuple[TabularDataset, TabularDataset]:
        return tuple(self._with({"op": "split", "percentage": float(percentage), "seed": seed, "side": side})
                     for side in (0, 1))  # type: ignore[return-value]

    def partition_by(self, partition_keys: list[str], target: Any, name: str | None = None,
                     show_progress: bool = True, partition_as_file_dataset: bool = False) -> AbstractDataset:
        """The rows written as parquet files, one folder per distinct value of ``partition_keys``, under
        ``target`` (a ``(datastore, path)`` tuple or a ``DataPath``); returns the dataset of those files with a
        ``partition_format`` restoring the keys as columns (registered as ``name`` when given)."""
        from headrace.sdk.dataset_partitions import partition_by

        return partition_by(self, partition_keys, target, name, partition_as_file_dataset)


def staged_dataset(info: dict[str, Any]) -> AbstractDataset:
    """A direct-mode dataset input inside a step: its pinned version, reading the files staged for the step."""
    from headrace.sdk.dataset_backend import StagedWorkspace

    record = DatasetRecord(id=info["id"], name=info.get("name"), version=info.get("version"), kind=info["kind"],
                           definition=info["definition"], manifest=info.get("manifest", ""), file_count=0,
                           total_bytes=0, description=None)
    # Staged files are named relative to the dataset's base folder: a partition_format matches them with it.
    staged_definition = {**info["definition"], "sources": [{"datastore": "staged", "path": ""}],
                         "staged_base": base_of(info["definition"].get("sources") or [])}
    cls = TabularDataset if info["kind"] == TABULAR else FileDataset
    return cls(staged_definition, StagedWorkspace(info.get("folder") or info["path"]), record)


def _auto_name(dataset: AbstractDataset) -> str:
    return (dataset.name or "dataset").replace("-", "_")


def _from_record(workspace: Any, record: DatasetRecord) -> AbstractDataset:
    cls = TabularDataset if record.kind == TABULAR else FileDataset
    return cls(record.definition, workspace, record)


# The factories (Dataset.File, Dataset.Tabular) and Dataset itself live beside; importable from here as before.
from headrace.sdk.dataset_factories import Dataset, FileDatasetFactory, TabularDatasetFactory  # noqa: E402

__all__ = ["AbstractDataset", "Dataset", "FileDataset", "FileDatasetFactory", "TabularDataset", "TabularDatasetFactory",
           "staged_dataset"]
