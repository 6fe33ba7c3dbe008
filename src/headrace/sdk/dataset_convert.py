"""``TabularDataset.to_csv_files`` / ``to_parquet_files``: a tabular dataset's rows written out as files.

Azure ML computes such a FileDataset lazily on its own storage. headrace writes the rows once to the
workspace's default datastore, under ``converted/<digest of the bytes>/``, so the same rows give the same
folder (converting twice writes nothing new) and the FileDataset pins exactly those bytes.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from headrace.errors import ConfigError, DatasetError

FOLDER = "converted"
"""Where converted files go on the default datastore."""


def convert(dataset: Any, suffix: str, write: Callable[[Any, io.BytesIO], None]) -> Any:
    """Write ``dataset``'s rows with ``write(frame, buffer)`` and return a FileDataset of the file.

    Raises:
        DatasetError: the dataset has no workspace with datastores (inside a step), or does not parse.
        ConfigError: pandas (or pyarrow for parquet) is not installed, naming the extra.
    """
    from headrace.sdk.dataset import FileDatasetFactory

    workspace = dataset._need_workspace()
    if not hasattr(workspace, "get_default_datastore"):
        raise DatasetError(f"dataset {dataset._label()!r}: converting files needs a workspace with datastores; "
                           "inside a step, read it with to_pandas_dataframe() and write the files yourself")
    frame = dataset.to_pandas_dataframe()
    buffer = io.BytesIO()
    write(frame, buffer)
    data = buffer.getvalue()
    folder = f"{FOLDER}/{hashlib.sha256(data).hexdigest()[:32]}"
    datastore = workspace.get_default_datastore()
    with tempfile.TemporaryDirectory(prefix="headrace-convert-") as tmp:
        local = Path(tmp) / f"part-00000{suffix}"
        local.write_bytes(data)
        datastore.upload_files([str(local)], target_path=folder, overwrite=True)
    return FileDatasetFactory.from_files((datastore, f"{folder}/part-00000{suffix}"))


def write_csv(separator: str) -> Callable[[Any, io.BytesIO], None]:
    def write(frame: Any, buffer: io.BytesIO) -> None:
        frame.to_csv(buffer, sep=separator, index=False)
    return write


def write_parquet(frame: Any, buffer: io.BytesIO) -> None:
    try:
        frame.to_parquet(buffer, index=False)
    except ImportError as exc:
        raise ConfigError(f'writing parquet files needs pyarrow: pip install "headrace[tabular]" ({exc})') from None
