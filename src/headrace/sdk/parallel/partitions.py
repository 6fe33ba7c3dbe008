"""Mini-batches by partition: one per distinct value of ``partition_keys``, and the context ``run()`` gets.

A file dataset carries the key values in its files' paths (its ``partition_format``); a tabular dataset in
its columns (``batches.tabular_batches``). An entry script whose ``run`` takes a second argument gets a
``MiniBatchContext`` with the mini-batch's values, as on Azure ML.
"""

from __future__ import annotations

import os
from typing import Any

from headrace.core.dataset import base_of
from headrace.core.dataset_partitions import parse_partition_format
from headrace.errors import DatasetError
from headrace.sdk.parallel.batches import MiniBatch, list_files
from headrace.sdk.parallel.worker import MiniBatchContext, Partitioned, wants_context

__all__ = ["MiniBatchContext", "Partitioned", "file_partition_batches", "wants_context"]


def file_partition_batches(name: str, folder: str, info: dict[str, Any], keys: list[str],
                           first_id: int) -> list[MiniBatch]:
    """The staged files of dataset input ``name`` grouped by the values of ``keys`` their paths carry.

    Raises:
        DatasetError: the dataset has no partition_format with those keys, or a file does not fit it.
    """
    definition = info.get("definition") or {}
    text = definition.get("partition_format")
    fmt = parse_partition_format(text) if text else None
    missing = [k for k in keys if fmt is None or k not in fmt.keys]
    if missing:
        raise DatasetError(f"input {name}: partition_keys {missing} are not keys of its partition_format "
                           f"({text!r})")
    base = base_of(definition.get("sources") or [])
    groups: dict[tuple[Any, ...], list[str]] = {}
    for path in list_files(folder, name):
        rel = os.path.basename(path) if os.path.isfile(folder) else os.path.relpath(path, folder).replace(os.sep, "/")
        values = fmt.values(f"{base}/{rel}" if base else rel)
        if values is None:
            raise DatasetError(f"input {name}: {rel} does not fit its partition_format {text!r}")
        groups.setdefault(tuple(values[k] for k in keys), []).append(path)
    return [MiniBatch(first_id + i, paths, f"{name} {dict(zip(keys, values, strict=True))}",
                      dict(zip(keys, values, strict=True)))
            for i, (values, paths) in enumerate(sorted(groups.items()))]
