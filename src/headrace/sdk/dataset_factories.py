"""``Dataset.File`` and ``Dataset.Tabular``: building dataset definitions from paths, and ``Dataset`` itself."""

from __future__ import annotations

import warnings
from typing import Any

from headrace.core.dataset import FILE, TABULAR, source_list
from headrace.core.dataset_partitions import parse_partition_format
from headrace.core.params import datastore_name_of
from headrace.errors import DatasetError
from headrace.sdk.dataset import AbstractDataset, FileDataset, TabularDataset, _workspace_of


class FileDatasetFactory:
    """``Dataset.File``."""

    @staticmethod
    def from_files(path: Any, validate: bool = True, partition_format: str | None = None,
                   is_file: bool = False) -> FileDataset:
        """Files at ``path``: a ``(datastore, "folder/or/glob/**/*.csv")`` tuple, a ``DataPath``, or a list.

        With ``validate``, a path matching nothing warns now (using the dataset then fails).
        """
        definition = {"kind": FILE, "sources": source_list(path, datastore_name_of), "transforms": [],
                      **_partitioned(partition_format)}
        dataset = FileDataset(definition, _workspace_of(path))
        _validate(dataset, validate)
        return dataset


class TabularDatasetFactory:
    """``Dataset.Tabular``."""

    @staticmethod
    def from_delimited_files(path: Any, validate: bool = True, include_path: bool = False,
                             infer_column_types: bool = True, set_column_types: dict[str, Any] | None = None,
                             separator: str = ",", header: bool | str = True, partition_format: str | None = None,
                             support_multi_line: bool = False, empty_as_string: bool = False,
                             encoding: str = "utf8") -> TabularDataset:
        """Rows of delimited files (CSV, TSV). ``header`` True (or Azure ML's ``"all_files_same_headers"``...)
        reads the first line of each file as column names; False names them ``Column1``, ``Column2``..."""
        read = {"format": "delimited", "separator": separator, "header": bool(header) and header != "no_headers",
                "infer_column_types": infer_column_types, "include_path": include_path,
                "empty_as_string": empty_as_string, "encoding": encoding,
                "set_column_types": _types(set_column_types)}
        return _tabular(path, read, validate, partition_format)

    @staticmethod
    def from_parquet_files(path: Any, validate: bool = True, include_path: bool = False,
                           set_column_types: dict[str, Any] | None = None,
                           partition_format: str | None = None) -> TabularDataset:
        return _tabular(path, {"format": "parquet", "include_path": include_path,
                               "set_column_types": _types(set_column_types)}, validate, partition_format)

    @staticmethod
    def from_json_lines_files(path: Any, validate: bool = True, include_path: bool = False,
                              set_column_types: dict[str, Any] | None = None, partition_format: str | None = None,
                              invalid_lines: str = "error", encoding: str = "utf8") -> TabularDataset:
        return _tabular(path, {"format": "json_lines", "include_path": include_path, "encoding": encoding,
                               "set_column_types": _types(set_column_types)}, validate, partition_format)


def _types(given: dict[str, Any] | None) -> dict[str, str]:
    """Azure ML's ``DataType.to_long()``-style values, or plain names (``"int"``, ``"float"``...)."""
    return {column: str(getattr(kind, "name", kind)) for column, kind in (given or {}).items()}


def _partitioned(partition_format: str | None) -> dict[str, str]:
    """The definition's ``partition_format`` entry (checked now: a bad format fails where it is written)."""
    if partition_format is None:
        return {}
    return {"partition_format": parse_partition_format(partition_format).text}


def _tabular(path: Any, read: dict[str, Any], validate: bool, partition_format: str | None = None) -> TabularDataset:
    definition = {"kind": TABULAR, "sources": source_list(path, datastore_name_of), "read": read, "transforms": [],
                  **_partitioned(partition_format)}
    dataset = TabularDataset(definition, _workspace_of(path))
    _validate(dataset, validate)
    return dataset


def _validate(dataset: AbstractDataset, validate: bool) -> None:
    if not validate or dataset.workspace is None:
        return
    try:
        dataset._entries()
    except DatasetError as exc:
        warnings.warn(str(exc), UserWarning, stacklevel=3)


class Dataset:
    """Azure ML's entry point: ``Dataset.File``, ``Dataset.Tabular``, ``Dataset.get_by_name`` and friends."""

    File = FileDatasetFactory
    Tabular = TabularDatasetFactory
    get_by_name = staticmethod(AbstractDataset.get_by_name)
    get_by_id = staticmethod(AbstractDataset.get_by_id)
    get_all = staticmethod(AbstractDataset.get_all)

