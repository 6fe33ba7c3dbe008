"""Column types for tabular datasets' ``set_column_types`` (Azure ML's ``DataType``)."""

from __future__ import annotations

from typing import Any


class _Type:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"DataType.{self.name}"


class DataType:
    """Column types for ``set_column_types`` (Azure ML's ``azureml.data.dataset_factory.DataType``)."""

    @staticmethod
    def to_string() -> _Type:
        return _Type("string")

    @staticmethod
    def to_long() -> _Type:
        return _Type("long")

    @staticmethod
    def to_float(decimal_mark: str = ".") -> _Type:
        return _Type("float")

    @staticmethod
    def to_bool() -> _Type:
        return _Type("bool")

    @staticmethod
    def to_datetime(formats: Any = None) -> _Type:
        return _Type("datetime")
