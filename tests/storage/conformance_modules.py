"""Conformance of modules and module versions. Mixed into the same test classes as ``StoreConformance``."""

from __future__ import annotations

from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord

from .conformance import T0, assert_utc, at, new_id

SNAP = "a" * 64


def module(store: MetadataStore, name: str = "AddAndMultiply", created_at: Any = T0, **fields: Any) -> ModuleRecord:
    return store.create_module(ModuleRecord(new_id(), name, created_at, created_at, **fields))


def version(store: MetadataStore, module_id: str, v: str, created_at: Any = T0, **fields: Any) -> ModuleVersionRecord:
    return store.create_module_version(
        ModuleVersionRecord(module_id, v, "calc.py", SNAP, created_at, created_at, **fields))


class ModuleConformance:
    """Modules and their versions; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_module_round_trip_by_id_and_name(self, store: MetadataStore) -> None:
        made = module(store, description="adds")
        assert store.get_module(made.id) == made == store.get_module(name="AddAndMultiply")
        assert made.status == "Active" and made.default_version is None
        assert_utc(store.get_module(made.id).created_at)
        with pytest.raises(NotFoundError, match="module"):
            store.get_module("nope")
        with pytest.raises(NotFoundError, match="module"):
            store.get_module(name="nope")

    def test_module_names_are_unique(self, store: MetadataStore) -> None:
        first = module(store)
        with pytest.raises(AlreadyExistsError, match="AddAndMultiply"):
            module(store)
        other = module(store, "Other")
        with pytest.raises(AlreadyExistsError):
            store.update_module(other.id, name="AddAndMultiply")
        assert store.update_module(first.id, name="Renamed").name == "Renamed"

    def test_list_newest_first(self, store: MetadataStore) -> None:
        old, new = module(store, "old", at(0)), module(store, "new", at(5))
        assert [m.id for m in store.list_modules()] == [new.id, old.id]

    def test_versions_round_trip_oldest_first(self, store: MetadataStore) -> None:
        m = module(store)
        iface = {"inputs": [{"name": "in1", "is_optional": False}], "outputs": [], "params": {"n": 12}}
        v2 = version(store, m.id, "2", at(5), interface=iface, description="middle", source_directory="/src")
        v1 = version(store, m.id, "1", at(0))
        assert store.list_module_versions(m.id) == [v1, v2]
        assert store.get_module_version(m.id, "2") == v2
        assert store.get_module_version(m.id, "2").interface == iface
        with pytest.raises(AlreadyExistsError):
            version(store, m.id, "2")
        with pytest.raises(NotFoundError, match="module"):
            version(store, "no-module", "1")
        with pytest.raises(NotFoundError, match="module version"):
            store.get_module_version(m.id, "3")
        with pytest.raises(NotFoundError):
            store.list_module_versions("no-module")

    def test_default_version_must_exist(self, store: MetadataStore) -> None:
        m = module(store)
        version(store, m.id, "1")
        with pytest.raises(NotFoundError, match="module version"):
            store.update_module(m.id, default_version="9")
        assert store.update_module(m.id, default_version="1", updated_at=at(9)).default_version == "1"
        assert store.update_module(m.id, default_version=None).default_version is None

    def test_statuses_change_and_are_checked(self, store: MetadataStore) -> None:
        m = module(store)
        version(store, m.id, "1")
        assert store.update_module(m.id, status="Disabled").status == "Disabled"
        changed = store.update_module_version(m.id, "1", status="Deprecated", description="old")
        assert (changed.status, changed.description) == ("Deprecated", "old")
        with pytest.raises(ValueError, match="status"):
            store.update_module_version(m.id, "1", status="Gone")
        with pytest.raises(ValueError, match="cannot update"):
            store.update_module_version(m.id, "1", snapshot="b" * 64)
        with pytest.raises(NotFoundError):
            store.update_module_version(m.id, "7", status="Active")
        with pytest.raises(NotFoundError):
            store.update_module("nope", status="Active")
