"""Datastore registrations in the SQL store: one row per name (kind, root URI, options)."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import DatastoreRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["DatastoreMethods"]

_GET_DATASTORE = select(t.datastores).where(t.datastores.c.name == bindparam("key"))
_INSERT_DATASTORE = insert(t.datastores)


class DatastoreMethods(SqlSession):
    """The datastore methods of ``SqlMetadataStore``."""

    @translated
    def create_datastore(self, record: DatastoreRecord) -> DatastoreRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT_DATASTORE, rows.as_row(record))
        except IntegrityError as exc:
            raise AlreadyExistsError("datastore", record.name, "pick another name") from exc
        return rows.in_utc(record)

    @translated
    def get_datastore(self, name: str) -> DatastoreRecord:
        with self._read() as conn:
            row = conn.execute(_GET_DATASTORE, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("datastore", name)
        return rows.datastore_record(row)

    @translated
    def replace_datastore(self, record: DatastoreRecord) -> DatastoreRecord:
        values = rows.as_row(record)
        with self._write() as conn:
            done = conn.execute(update(t.datastores).where(t.datastores.c.name == record.name)
                                .values({k: v for k, v in values.items() if k != "name"}))
        if done.rowcount != 1:
            raise NotFoundError("datastore", record.name)
        return rows.in_utc(record)

    @translated
    def delete_datastore(self, name: str) -> None:
        with self._write() as conn:
            done = conn.execute(delete(t.datastores).where(t.datastores.c.name == name))
        if done.rowcount != 1:
            raise NotFoundError("datastore", name)

    @translated
    def list_datastores(self) -> list[DatastoreRecord]:
        with self._read() as conn:
            result = conn.execute(select(t.datastores).order_by(t.datastores.c.name)).mappings()
            return [rows.datastore_record(row) for row in result]
