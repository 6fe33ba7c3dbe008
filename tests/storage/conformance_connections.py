"""Conformance of the LLM connection methods: create, get, list, update, delete.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import ConnectionRecord

from .conformance import PLUS_TWO, T0, assert_utc, at


def connection(name: str = "llm", **fields: Any) -> ConnectionRecord:
    values: dict[str, Any] = {"name": name, "type": "openai", "base_url": "http://127.0.0.1:9/v1",
                              "created_at": T0, "updated_at": T0, "secret": "gAAAA-encrypted"}
    values.update(fields)
    return ConnectionRecord(**values)


class ConnectionConformance:
    """LLM connections; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_create_get_round_trip(self, store: MetadataStore) -> None:
        record = connection(type="azure_openai", api_version="2024-10-21", context_size=16385, model="gpt-35",
                            extra={"model_path": "/m.gguf"}, created_at=T0.astimezone(PLUS_TWO))
        created = store.create_connection(record)
        got = store.get_connection("llm")
        assert got == created
        assert (got.type, got.api_version, got.context_size, got.model, got.extra, got.secret) == (
            "azure_openai", "2024-10-21", 16385, "gpt-35", {"model_path": "/m.gguf"}, "gAAAA-encrypted")
        assert got.created_at == T0
        assert_utc(got.created_at)

    def test_optional_fields_default(self, store: MetadataStore) -> None:
        store.create_connection(connection("bare", secret=None))
        got = store.get_connection("bare")
        assert (got.secret, got.api_version, got.context_size, got.model, got.extra) == (None, None, None, None, {})

    def test_duplicate_name_raises_already_exists(self, store: MetadataStore) -> None:
        store.create_connection(connection())
        with pytest.raises(AlreadyExistsError) as info:
            store.create_connection(connection(base_url="http://other/v1"))
        assert (info.value.kind, info.value.key) == ("connection", "llm")
        assert store.get_connection("llm").base_url == "http://127.0.0.1:9/v1"

    def test_missing_raises_not_found(self, store: MetadataStore) -> None:
        for call in (lambda: store.get_connection("nope"), lambda: store.delete_connection("nope"),
                     lambda: store.update_connection("nope", model="m")):
            with pytest.raises(NotFoundError) as info:
                call()
            assert (info.value.kind, info.value.key) == ("connection", "nope")

    def test_list_by_name(self, store: MetadataStore) -> None:
        assert store.list_connections() == []
        for name in ("b", "c", "a"):
            store.create_connection(connection(name))
        assert [c.name for c in store.list_connections()] == ["a", "b", "c"]

    def test_update_changes_fields_and_refuses_identity(self, store: MetadataStore) -> None:
        store.create_connection(connection())
        updated = store.update_connection("llm", secret="new-token", context_size=4096, updated_at=at(60))
        assert (updated.secret, updated.context_size, updated.updated_at) == ("new-token", 4096, at(60))
        assert store.get_connection("llm") == updated
        with pytest.raises(ValueError, match="name"):
            store.update_connection("llm", name="renamed")

    def test_delete(self, store: MetadataStore) -> None:
        store.create_connection(connection("a"))
        store.create_connection(connection("b"))
        store.delete_connection("a")
        assert [c.name for c in store.list_connections()] == ["b"]
        with pytest.raises(NotFoundError):
            store.get_connection("a")
        store.create_connection(connection("a"))  # the name is free again
