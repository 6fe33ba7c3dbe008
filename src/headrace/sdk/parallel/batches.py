"""Cutting a ParallelRunStep's inputs into mini-batches (in the step process, before any worker runs).

Each input is cut on its own, as on Azure ML. A file input (a dataset mounted in the step's folder, or a
data path) becomes its files in path order, ``size`` per mini-batch. A tabular input becomes its DataFrame
cut into row ranges of about ``size`` bytes of source data each (the input's bytes over its rows), or one
mini-batch per distinct value of the ``partition_keys`` columns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from headrace.core.parallel_run import DEFAULT_FILE_BATCH, DEFAULT_TABULAR_BATCH
from headrace.errors import DatasetError


@dataclass(frozen=True)
class MiniBatch:
    """One unit of work: ``items`` are file paths (file input) or a DataFrame (tabular input)."""

    id: int
    items: Any
    label: str  # for logs: the first and last file, or the input and row range
    partition: dict[str, Any] | None = None  # the partition_keys' values, when cut by them

    def payload(self) -> Any:
        """What a worker is sent: the items, with the partition's values when there are some."""
        if self.partition is None:
            return self.items
        from headrace.sdk.parallel.worker import Partitioned

        return Partitioned(self.items, self.partition)

    @property
    def size(self) -> int:
        return len(self.items)


def list_files(path: str, what: str) -> list[str]:
    """The files under ``path`` (itself when it is a file), sorted by path.

    Raises:
        DatasetError: ``path`` does not exist.
    """
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise DatasetError(f"input {what}: {path} does not exist")
    found = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        found += [os.path.join(root, n) for n in names]
    return sorted(found)


def file_batches(files: list[str], size: int | None, first_id: int) -> list[MiniBatch]:
    """``files`` in mini-batches of ``size`` (default 10)."""
    size = size or DEFAULT_FILE_BATCH
    out = []
    for start in range(0, len(files), size):
        chunk = files[start:start + size]
        label = os.path.basename(chunk[0]) if len(chunk) == 1 else \
            f"{os.path.basename(chunk[0])} .. {os.path.basename(chunk[-1])}"
        out.append(MiniBatch(first_id + len(out), chunk, label))
    return out


def tabular_batches(name: str, frame: Any, source_bytes: int, size: int | None, partition_keys: list[str] | None,
                    first_id: int) -> list[MiniBatch]:
    """``frame`` cut into mini-batches of about ``size`` bytes of source data (default 1MB), or by the values
    of ``partition_keys``.

    Raises:
        DatasetError: a partition key is not a column of the input.
    """
    if partition_keys:
        missing = [k for k in partition_keys if k not in frame.columns]
        if missing:
            raise DatasetError(f"input {name}: partition_keys {missing} are not among its columns "
                               f"({', '.join(map(str, frame.columns))})")
        groups = frame.groupby(partition_keys if len(partition_keys) > 1 else partition_keys[0], sort=True)
        return [MiniBatch(first_id + i, part.reset_index(drop=True), f"{name} {_values(partition_keys, key)}",
                          _values(partition_keys, key))
                for i, (key, part) in enumerate(groups)]
    rows = len(frame)
    if rows == 0:
        return []
    per_row = max(source_bytes, 1) / rows
    step = max(1, int((size or DEFAULT_TABULAR_BATCH) // per_row))
    return [MiniBatch(first_id + i, frame.iloc[start:start + step].reset_index(drop=True),
                      f"{name} rows {start}..{min(start + step, rows) - 1}")
            for i, start in enumerate(range(0, rows, step))]


def _values(keys: list[str], key: Any) -> dict[str, Any]:
    return dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
