"""Reading a tabular dataset's files into a pandas DataFrame (the optional ``tabular`` extra).

Row transforms (``take``, ``skip``, ``keep_columns``, ``drop_columns``, a side of ``random_split``) apply
after the files are read and joined, in the order they were asked for.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from headrace.core.dataset import ManifestEntry, split_side
from headrace.core.dataset_partitions import PartitionFormat, parse_partition_format
from headrace.errors import ConfigError, DatasetError

_TYPES = {"string": "string", "int": "Int64", "long": "Int64", "float": "float64", "bool": "boolean"}


def pandas() -> Any:
    """The pandas module, or an error naming the extra that brings it."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError('tabular datasets need pandas: pip install "headrace[tabular]"') from None
    return pd


def read_frame(definition: dict[str, Any], entries: Sequence[ManifestEntry],
               read_bytes: Callable[[ManifestEntry], bytes], label: str) -> Any:
    """Every file parsed by the definition's ``read`` options, joined, then transformed.

    Raises:
        ConfigError: pandas (or pyarrow, for parquet) is not installed.
        DatasetError: a file does not parse (naming the file and pandas' message, which gives the line).
    """
    pd = pandas()
    read = definition.get("read", {})
    partitions = parse_partition_format(definition["partition_format"]) if definition.get("partition_format") else None
    frames = []
    for entry in entries:
        try:
            frame = _parse(pd, read, read_bytes(entry))
        except ImportError as exc:
            raise ConfigError(f'reading {read.get("format")} files needs pyarrow: pip install "headrace[tabular]" '
                              f"({exc})") from None
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatasetError(f"dataset {label!r}: {entry.datastore}:{entry.path} does not parse: {first}") \
                from exc
        if read.get("include_path"):
            frame.insert(0, "Path", f"/{entry.path}")
        if partitions is not None:
            _add_partition_columns(frame, partitions, entry, label, definition.get("staged_base") or "")
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    frame = _set_types(pd, frame, read.get("set_column_types") or {}, label)
    return _transform(frame, definition.get("transforms", ()), label)


def _add_partition_columns(frame: Any, partitions: PartitionFormat, entry: ManifestEntry, label: str,
                           base: str) -> None:
    """The values the file's path carries, as columns after its own (Azure ML's order); ``base``: the folder
    a staged copy's paths are relative to."""
    values = partitions.values(f"{base}/{entry.path}" if base else entry.path)
    if values is None:
        raise DatasetError(f"dataset {label!r}: {entry.datastore}:{entry.path} does not fit its partition_format "
                           f"{partitions.text!r}")
    for key, value in values.items():
        frame[key] = value


def _parse(pd: Any, read: dict[str, Any], data: bytes) -> Any:
    fmt = read.get("format", "delimited")
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    if fmt == "json_lines":
        return pd.read_json(io.BytesIO(data), lines=True, encoding=read.get("encoding", "utf8"))
    header = 0 if read.get("header", True) else None
    frame = pd.read_csv(io.BytesIO(data), sep=read.get("separator", ","), header=header,
                        encoding=read.get("encoding", "utf8"),
                        dtype=None if read.get("infer_column_types", True) else str,
                        keep_default_na=not read.get("empty_as_string", False))
    if header is None:
        frame.columns = [f"Column{i + 1}" for i in range(len(frame.columns))]
    return frame


def _set_types(pd: Any, frame: Any, types: dict[str, str], label: str) -> Any:
    for column, kind in types.items():
        if column not in frame.columns:
            raise DatasetError(f"dataset {label!r}: set_column_types names {column!r}, which is not a column "
                               f"(columns: {', '.join(map(str, frame.columns))})")
        try:
            frame[column] = pd.to_datetime(frame[column]) if kind == "datetime" else frame[column].astype(_TYPES[kind])
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"dataset {label!r}: column {column!r} is not all {kind}: {exc}") from exc
    return frame


def _transform(frame: Any, transforms: Sequence[dict[str, Any]], label: str) -> Any:
    for t in transforms:
        op = t["op"]
        if op == "take":
            frame = frame.head(t["count"])
        elif op == "skip":
            frame = frame.iloc[t["count"]:]
        elif op in ("keep_columns", "drop_columns"):
            missing = [c for c in t["columns"] if c not in frame.columns]
            if missing:
                raise DatasetError(f"dataset {label!r}: {op} names {', '.join(map(repr, missing))}, not columns "
                                   f"(columns: {', '.join(map(str, frame.columns))})")
            frame = frame[t["columns"]] if op == "keep_columns" else frame.drop(columns=t["columns"])
        elif op == "split":
            rows = split_side(list(range(len(frame))), t["percentage"], t.get("seed"), t["side"])
            frame = frame.iloc[rows]
    return frame.reset_index(drop=True)
