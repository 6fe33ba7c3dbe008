"""Conformance of the environment methods: create, get (a version or the newest), list.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import EnvironmentRecord

from .conformance import PLUS_TWO, T0, assert_utc, at


def environment(name: str = "sklearn", version: int = 1, **fields: Any) -> EnvironmentRecord:
    values: dict[str, Any] = {"name": name, "version": version, "hash": f"h{version}", "created_at": at(version),
                              "spec": {"pip": ["scikit-learn"], "python": None, "environment_variables": {"K": "v"}}}
    values.update(fields)
    return EnvironmentRecord(**values)


class EnvironmentConformance:
    """Registered environments; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_environment_round_trip_in_utc(self, store: MetadataStore) -> None:
        created = store.create_environment(environment(created_at=T0.astimezone(PLUS_TWO), description="d"))
        got = store.get_environment("sklearn", 1)
        assert got == created
        assert (got.hash, got.spec["pip"], got.description) == ("h1", ["scikit-learn"], "d")
        assert_utc(got.created_at)

    def test_environment_newest_version_and_list(self, store: MetadataStore) -> None:
        for version in (1, 2, 3):
            store.create_environment(environment(version=version))
        store.create_environment(environment("alpha"))
        assert store.get_environment("sklearn").version == 3
        assert store.get_environment("sklearn", 2).hash == "h2"
        assert [(e.name, e.version) for e in store.list_environments()] == [
            ("alpha", 1), ("sklearn", 3), ("sklearn", 2), ("sklearn", 1)]
        assert [e.version for e in store.list_environments("sklearn")] == [3, 2, 1]
        assert store.list_environments("nope") == []

    def test_environment_version_taken_raises_already_exists(self, store: MetadataStore) -> None:
        store.create_environment(environment())
        with pytest.raises(AlreadyExistsError):
            store.create_environment(environment(hash="other"))
        assert store.get_environment("sklearn", 1).hash == "h1"

    def test_environment_missing_raises_not_found(self, store: MetadataStore) -> None:
        store.create_environment(environment())
        for call in (lambda: store.get_environment("nope"), lambda: store.get_environment("sklearn", 7),
                     lambda: store.get_environment("sklearn", 2**70)):
            with pytest.raises(NotFoundError) as info:
                call()
            assert info.value.kind == "environment"
