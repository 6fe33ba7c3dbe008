"""API tokens in the SQL store; only the sha256 of a secret is ever stored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import Role, TokenRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["TokenMethods"]

_tokens = t.tokens
_UPDATABLE = frozenset({"name", "revoked_at", "last_used_at"})

_INSERT = insert(_tokens)
_BY_HASH = select(_tokens).where(_tokens.c.token_hash == bindparam("key"))
_ID_EXISTS = select(_tokens.c.id).where(_tokens.c.id == bindparam("key"))
_LIST = select(_tokens).order_by(_tokens.c.created_at, _tokens.c.id)


def _token_record(row: Mapping[str, Any]) -> TokenRecord:
    values = dict(row)
    values["role"] = Role(values["role"])
    return TokenRecord(**values)


def _shown(token_hash: str) -> str:
    """How a hash appears in messages: enough to tell tokens apart, too little to look one up."""
    return f"sha256:{token_hash[:8]}..."


class TokenMethods(SqlSession):
    """The token methods of ``SqlMetadataStore``."""

    @translated
    def create_token(self, record: TokenRecord) -> TokenRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                taken_id = conn.execute(_ID_EXISTS, {"key": record.id}).first() is not None
                taken_hash = conn.execute(_BY_HASH, {"key": record.token_hash}).first() is not None
            if taken_id:
                raise AlreadyExistsError("token", record.id) from exc
            if taken_hash:
                raise AlreadyExistsError(
                    "token", _shown(record.token_hash), "another token has this secret; generate a new one"
                ) from exc
            raise
        return rows.in_utc(record)

    @translated
    def get_token_by_hash(self, token_hash: str) -> TokenRecord:
        with self._read() as conn:
            row = conn.execute(_BY_HASH, {"key": token_hash}).mappings().first()
        if row is None:
            raise NotFoundError("token", _shown(token_hash))
        return _token_record(row)

    @translated
    def list_tokens(self) -> list[TokenRecord]:
        with self._read() as conn:
            return [_token_record(row) for row in conn.execute(_LIST).mappings()]

    @translated
    def update_token(self, token_id: str, **changes: Any) -> TokenRecord:
        """See ``MetadataStore.update_token``.

        Raises:
            ValueError: a field other than ``name``, ``revoked_at`` and ``last_used_at``.
        """
        values = rows.check_changes("token", changes, _UPDATABLE)
        with self._write() as conn:
            row = rows.update_by_id(conn, _tokens, token_id, values)
        if row is None:
            raise NotFoundError("token", token_id)
        return _token_record(row)
