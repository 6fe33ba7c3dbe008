"""LLM connections in the SQL store. The ``secret`` column holds what the services layer encrypted."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import ConnectionRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["ConnectionMethods"]

_connections = t.connections
_UPDATABLE = frozenset(f.name for f in dataclasses.fields(ConnectionRecord)) - {"name", "created_at"}

_INSERT = insert(_connections)
_GET = select(_connections).where(_connections.c.name == bindparam("key"))
_LIST = select(_connections).order_by(_connections.c.name)
_DELETE = delete(_connections).where(_connections.c.name == bindparam("key"))


def _record(row: Mapping[str, Any]) -> ConnectionRecord:
    values = dict(row)
    values["extra"] = values.get("extra") or {}
    return ConnectionRecord(**values)


class ConnectionMethods(SqlSession):
    """The LLM connection methods of ``SqlMetadataStore``."""

    @translated
    def create_connection(self, record: ConnectionRecord) -> ConnectionRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            raise AlreadyExistsError("connection", record.name,
                                     "delete it first or pick another name") from exc
        return rows.in_utc(record)

    @translated
    def get_connection(self, name: str) -> ConnectionRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("connection", name)
        return _record(row)

    @translated
    def list_connections(self) -> list[ConnectionRecord]:
        with self._read() as conn:
            return [_record(row) for row in conn.execute(_LIST).mappings()]

    @translated
    def update_connection(self, name: str, /, **changes: Any) -> ConnectionRecord:
        values = rows.check_changes("connection", changes, _UPDATABLE)
        with self._write() as conn:
            if values:
                stmt = update(_connections).where(_connections.c.name == name).values(values)
                conn.execute(stmt)
            row = conn.execute(_GET, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("connection", name)
        return _record(row)

    @translated
    def delete_connection(self, name: str) -> None:
        with self._write() as conn:
            gone = conn.execute(_DELETE, {"key": name}).rowcount
        if not gone:
            raise NotFoundError("connection", name)
