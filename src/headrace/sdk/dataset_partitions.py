"""``TabularDataset.partition_by``: a tabular dataset's rows written as one parquet file per partition.

As on Azure ML, the files go to a new folder under ``target`` (here named by a digest of their bytes, so the
same rows give the same folder and writing twice adds nothing), one sub-folder per key, the key columns
left out of the files and given back by the returned dataset's ``partition_format`` (as strings, after the
other columns).
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path
from typing import Any

from headrace.errors import DatasetError

FILE_NAME = "part-00000.parquet"
_DATE = "yyyyMMddHHmmss"  # how a datetime key names its folder (Azure ML's)
_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}  # numpy dtype kind -> set_column_types name


def partition_by(dataset: Any, partition_keys: list[str], target: Any, name: str | None,
                 as_file_dataset: bool) -> Any:
    """See ``TabularDataset.partition_by``.

    Raises:
        DatasetError: no keys, a key that is not a column, a key value that cannot be a folder name, or a
            target that is not a ``(datastore, path)`` / ``DataPath``.
        ConfigError: pandas or pyarrow is missing (naming the extra).
    """
    from headrace.sdk.dataset import FileDatasetFactory, TabularDatasetFactory
    from headrace.sdk.dataset_convert import write_parquet

    keys = [partition_keys] if isinstance(partition_keys, str) else list(partition_keys or [])
    if not keys:
        raise DatasetError("partition_by: give partition_keys, the columns whose values make the folders")
    if len(set(keys)) != len(keys):
        raise DatasetError(f"partition_by: partition_keys {keys} name a column twice")
    datastore, base = _target(target)
    frame = dataset.to_pandas_dataframe()
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise DatasetError(f"partition_by: {missing} are not columns of the dataset "
                           f"(columns: {', '.join(map(str, frame.columns))})")
    parts: list[tuple[str, bytes]] = []
    dates = {k for k in keys if frame[k].dtype.kind == "M"}
    types = {k: _TYPES[frame[k].dtype.kind] for k in keys if frame[k].dtype.kind in _TYPES}
    for values, rows in frame.groupby(keys, sort=True, dropna=False):
        folders = [_folder(k, v, k in dates) for k, v in zip(keys, values if isinstance(values, tuple) else (values,),
                                                             strict=True)]
        buffer = io.BytesIO()
        write_parquet(rows.drop(columns=keys).reset_index(drop=True), buffer)
        parts.append(("/".join(folders), buffer.getvalue()))
    digest = hashlib.sha256()
    for rel, data in parts:
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    folder = f"{base}/{digest.hexdigest()[:32]}" if base else digest.hexdigest()[:32]
    with tempfile.TemporaryDirectory(prefix="headrace-partition-") as tmp:
        for rel, data in parts:
            path = Path(tmp, rel, FILE_NAME)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        datastore.upload(tmp, target_path=folder, overwrite=True, show_progress=False)
    layout = "/".join("*" for _ in keys)
    fmt = f"{folder}/" + "/".join(f"{{{k}:{_DATE}}}" if k in dates else f"{{{k}}}" for k in keys) + f"/{FILE_NAME}"
    path = (datastore, f"{folder}/{layout}/{FILE_NAME}")
    # The keys come back with the types they had (Azure ML's set_column_types on the new dataset).
    result = (FileDatasetFactory.from_files(path, partition_format=fmt) if as_file_dataset
              else TabularDatasetFactory.from_parquet_files(path, partition_format=fmt, set_column_types=types))
    if name:
        result = result.register(datastore.workspace, name, create_new_version=True)
    return result


def _target(target: Any) -> tuple[Any, str]:
    if hasattr(target, "upload") and hasattr(target, "workspace"):  # a datastore: its root
        return target, ""
    if isinstance(target, tuple) and len(target) == 2:
        datastore, path = target
    elif hasattr(target, "datastore") and hasattr(target, "path_on_datastore"):
        datastore, path = target.datastore, target.path_on_datastore
    else:
        raise DatasetError(f"partition_by: target must be a (datastore, path) tuple or a DataPath, not {target!r}")
    if not hasattr(datastore, "upload") or getattr(datastore, "workspace", None) is None:
        raise DatasetError("partition_by: the target's datastore must be a workspace datastore object "
                           "(ws.get_default_datastore() or Datastore.get(ws, name)), not a name")
    return datastore, str(path or "").strip("/")


def _folder(key: str, value: Any, is_date: bool) -> str:
    if is_date and value == value:
        return value.strftime("%Y%m%d%H%M%S")
    text = "" if value is None or value != value else str(value)  # NaN != NaN
    if not text or "/" in text or text in (".", ".."):
        raise DatasetError(f"partition_by: column {key!r} has the value {value!r}, which cannot name a folder "
                           "(empty, missing, or with '/'); clean or fill it first")
    return text
