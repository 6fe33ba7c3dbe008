"""Azure ML's logging calls (``log``, ``log_row``, ``log_image``, ``upload_file``...), shared by every run object.

A run object says where values and files go (``_emit`` and ``_put_file``): the metadata store for a run
handle in a notebook, the context folder for the run a script sees through ``Run.get_context()``.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

from headrace.errors import ConfigError


class RunLogging:
    """``log``, ``log_list``, ``log_row``, ``log_table``, ``log_image``, ``log_confusion_matrix``,
    ``log_accuracy_table``, ``upload_file`` and ``upload_folder``."""

    def _emit(self, items: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _put_file(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a value; logging the same name again makes a series (``get_metrics`` returns a list).

        Example:
            >>> run.log("accuracy", 0.91)  # doctest: +SKIP
        """
        self._emit([_item(name, value, "scalar")])

    def log_list(self, name: str, value: list[Any], description: str = "") -> None:
        """Log a list of values at once (a series)."""
        self._emit([_item(name, v, "scalar") for v in value])

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table: ``run.log_row("roc", fpr=0.1, tpr=0.8)``."""
        self._emit([_item(name, {k: jsonable(v) for k, v in kwargs.items()}, "row")])

    def log_table(self, name: str, value: dict[str, list[Any]], description: str = "") -> None:
        """Log a table given as columns: ``{"epoch": [1, 2], "loss": [0.5, 0.3]}``.

        Raises:
            ConfigError: ``value`` is not a dict of lists.
        """
        if not isinstance(value, dict) or not all(isinstance(v, list | tuple) for v in value.values()):
            raise ConfigError(f"log_table({name!r}): give a dict of column name -> list of values")
        self._emit([_item(name, value, "table")])

    def log_confusion_matrix(self, name: str, value: Any, description: str = "") -> None:
        """Log a confusion matrix (Azure ML's JSON: ``{"schema_type": "confusion_matrix", "data":
        {"class_labels": [...], "matrix": [[...]]}}``, as a dict or a JSON string)."""
        self._emit([_item(name, _json_value(name, value), "confusion_matrix")])

    def log_accuracy_table(self, name: str, value: Any, description: str = "") -> None:
        """Log an accuracy table (Azure ML's JSON: ``{"schema_type": "accuracy_table", "data": {...}}``)."""
        self._emit([_item(name, _json_value(name, value), "accuracy_table")])

    def log_predictions(self, name: str, value: Any, description: str = "") -> None:
        """Log predictions against true values (Azure ML's ``predictions`` JSON)."""
        self._emit([_item(name, _json_value(name, value), "predictions")])

    def log_residuals(self, name: str, value: Any, description: str = "") -> None:
        """Log a residuals histogram (Azure ML's ``residuals`` JSON)."""
        self._emit([_item(name, _json_value(name, value), "residuals")])

    def log_image(self, name: str, path: str | os.PathLike[str] | None = None, plot: Any = None,
                  description: str = "") -> None:
        """Log an image: an image file (``path``) or a matplotlib figure or ``pyplot`` (``plot``).

        The image is kept as the run file ``images/<name>.<ext>`` and the metric ``name`` names that file.

        Raises:
            ConfigError: neither or both of ``path`` and ``plot`` given, or ``path`` cannot be read.
        """
        if (path is None) == (plot is None):
            raise ConfigError(f"log_image({name!r}): give exactly one of path= and plot=")
        if path is not None:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"log_image({name!r}): cannot read {os.fspath(path)!r}: {exc.strerror}") from exc
            ext = Path(path).suffix.lower() or ".png"
        else:
            buf = io.BytesIO()
            plot.savefig(buf, format="png")
            data, ext = buf.getvalue(), ".png"
        file_name = f"images/{_safe(name)}{ext}"
        self._put_file(file_name, data)
        self._emit([_item(name, file_name, "image")])

    def upload_file(self, name: str, path_or_stream: Any) -> str:
        """Keep a file (a local path, or a readable binary stream) as run file ``name``; returns ``name``.

        Raises:
            ConfigError: the path cannot be read.
        """
        if hasattr(path_or_stream, "read"):
            data = path_or_stream.read()
            data = data.encode() if isinstance(data, str) else data
        else:
            try:
                data = Path(path_or_stream).read_bytes()
            except OSError as exc:
                raise ConfigError(f"upload_file({name!r}): cannot read {os.fspath(path_or_stream)!r}: "
                                  f"{exc.strerror}") from exc
        self._put_file(_clean(name), data)
        return _clean(name)

    def upload_files(self, names: list[str], paths: list[str]) -> None:
        """``upload_file`` for each (name, path) pair."""
        for name, path in zip(names, paths, strict=True):
            self.upload_file(name, path)

    def create_children(self, count: int | None = None, tag_key: str | None = None,
                        tag_values: list[Any] | None = None) -> list[Any]:
        """Start ``count`` child runs (tagged ``azureml.batch_child_number`` 0, 1, ...), or one per value of
        ``tag_values`` (tagged ``tag_key``): Azure ML's batch form of ``child_run()``, at most 100.

        Raises:
            ConfigError: neither ``count`` nor both ``tag_key`` and ``tag_values``, both, or more than 100.
        """
        if count is None and tag_key is None and tag_values is None:
            raise ConfigError("create_children: give count, or tag_key and tag_values")
        if count is not None and (tag_key is not None or tag_values is not None):
            raise ConfigError("create_children: count cannot be given with tag_key and tag_values")
        if count is None and (tag_key is None or tag_values is None):
            raise ConfigError("create_children: tag_key and tag_values go together")
        values = list(range(count)) if count is not None else list(tag_values or [])
        if len(values) > 100:
            raise ConfigError(f"create_children: at most 100 runs at once, not {len(values)}")
        key = "azureml.batch_child_number" if count is not None else str(tag_key)
        children = []
        for value in values:
            child = self.child_run()  # type: ignore[attr-defined] - every run object has it
            child.tag(key, str(value))
            children.append(child)
        return children

    def upload_folder(self, name: str, path: str | os.PathLike[str]) -> list[str]:
        """Keep every file under the folder ``path`` as run files under ``name/``; returns their names.

        Raises:
            ConfigError: ``path`` is not a folder.
        """
        root = Path(path)
        if not root.is_dir():
            raise ConfigError(f"upload_folder({name!r}): {os.fspath(path)!r} is not a folder")
        names = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            target = f"{_clean(name)}/{file.relative_to(root).as_posix()}"
            self._put_file(target, file.read_bytes())
            names.append(target)
        return names


def _item(name: str, value: Any, kind: str) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a logged value needs a non-empty str name, got {name!r}")
    return {"name": name, "value": jsonable(value), "kind": kind}


def _json_value(name: str, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ConfigError(f"{name!r}: not valid JSON ({exc})") from exc
    return value


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"


def _clean(name: str) -> str:
    clean = os.path.normpath(str(name).replace("\\", "/")).replace("\\", "/").lstrip("/")
    if not clean or clean == "." or clean.startswith(".."):
        raise ConfigError(f"invalid run file name {name!r}: give a relative path such as 'outputs/model.pkl'")
    return clean


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: numpy scalars and arrays become numbers and lists, others their str."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        try:
            return jsonable(value.tolist())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "item"):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)
