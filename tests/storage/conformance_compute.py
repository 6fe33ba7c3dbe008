"""Conformance of the compute target methods: create, get, list, update, delete.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import ComputeTargetRecord

from .conformance import PLUS_TWO, T0, assert_utc, at


def compute(name: str = "cpu-cluster", **fields: Any) -> ComputeTargetRecord:
    values: dict[str, Any] = {"name": name, "type": "AmlCompute", "created_at": T0, "updated_at": T0,
                              "config": {"vm_size": "STANDARD_D2_V2", "min_nodes": 0, "max_nodes": 4}}
    values.update(fields)
    return ComputeTargetRecord(**values)


class ComputeConformance:
    """Compute targets; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_compute_round_trip_in_utc(self, store: MetadataStore) -> None:
        created = store.create_compute_target(compute(created_at=T0.astimezone(PLUS_TWO), description="d"))
        got = store.get_compute_target("cpu-cluster")
        assert got == created
        assert (got.type, got.config, got.description) == (
            "AmlCompute", {"vm_size": "STANDARD_D2_V2", "min_nodes": 0, "max_nodes": 4}, "d")
        assert_utc(got.created_at)

    def test_compute_duplicate_name_raises_already_exists(self, store: MetadataStore) -> None:
        store.create_compute_target(compute())
        with pytest.raises(AlreadyExistsError) as info:
            store.create_compute_target(compute(type="dask"))
        assert (info.value.kind, info.value.key) == ("compute target", "cpu-cluster")
        assert store.get_compute_target("cpu-cluster").type == "AmlCompute"

    def test_compute_missing_raises_not_found(self, store: MetadataStore) -> None:
        for call in (lambda: store.get_compute_target("nope"), lambda: store.delete_compute_target("nope"),
                     lambda: store.update_compute_target("nope", description="x")):
            with pytest.raises(NotFoundError) as info:
                call()
            assert (info.value.kind, info.value.key) == ("compute target", "nope")

    def test_compute_list_update_delete(self, store: MetadataStore) -> None:
        store.create_compute_target(compute("gpu"))
        store.create_compute_target(compute("cpu", config={}))
        assert [c.name for c in store.list_compute_targets()] == ["cpu", "gpu"]
        changed = store.update_compute_target("cpu", type="dask", config={"scheduler": "tcp://h:8786"},
                                              updated_at=at(5))
        assert (changed.type, changed.config, changed.updated_at) == ("dask", {"scheduler": "tcp://h:8786"}, at(5))
        assert store.get_compute_target("cpu") == changed
        with pytest.raises(ValueError, match="name"):
            store.update_compute_target("cpu", name="other")
        store.delete_compute_target("gpu")
        assert [c.name for c in store.list_compute_targets()] == ["cpu"]
