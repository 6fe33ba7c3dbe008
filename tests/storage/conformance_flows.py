"""Conformance of the published-flow methods: versions, defaults, status, listing.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import threading

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import EntityStatus

from .conformance import PLUS_TWO, T0, assert_utc, at

SNAP_A = "a" * 64
SNAP_B = "b" * 64
INTERFACE = {"inputs": {"question": {"type": "string", "required": True}}, "outputs": {"answer": {}}}


class FlowConformance:
    """Published prompt flows; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_first_version_creates_the_flow(self, store: MetadataStore) -> None:
        created = store.add_flow_version("ask", snapshot=SNAP_A, created_at=T0.astimezone(PLUS_TWO),
                                         description="first", interface=INTERFACE, make_default=False)
        assert (created.name, created.status, created.default_version) == ("ask", EntityStatus.ACTIVE, 1)
        [v1] = created.versions
        assert (v1.version, v1.snapshot, v1.description, v1.interface) == (1, SNAP_A, "first", INTERFACE)
        assert v1.created_at == T0 and created.created_at == T0 and created.updated_at == T0
        assert_utc(v1.created_at)
        assert_utc(created.created_at)
        assert store.get_flow("ask") == created
        assert created.version() == v1 and created.version(2) is None

    def test_next_versions_number_up_and_become_default(self, store: MetadataStore) -> None:
        store.add_flow_version("ask", snapshot=SNAP_A, created_at=T0)
        second = store.add_flow_version("ask", snapshot=SNAP_B, created_at=at(10))
        assert [v.version for v in second.versions] == [1, 2]
        assert second.default_version == 2 and second.updated_at == at(10) and second.created_at == T0
        third = store.add_flow_version("ask", snapshot=SNAP_A, created_at=at(20), make_default=False)
        assert [v.version for v in third.versions] == [1, 2, 3]
        assert third.default_version == 2
        assert third.version(3).snapshot == SNAP_A  # the same snapshot may back several versions
        assert store.get_flow("ask") == third

    def test_explicit_version(self, store: MetadataStore) -> None:
        store.add_flow_version("ask", snapshot=SNAP_A, created_at=T0, version=5)
        after = store.add_flow_version("ask", snapshot=SNAP_B, created_at=at(1))
        assert [v.version for v in after.versions] == [5, 6]
        with pytest.raises(AlreadyExistsError) as info:
            store.add_flow_version("ask", snapshot=SNAP_B, created_at=at(2), version=6)
        assert info.value.kind == "flow version"
        assert [v.version for v in store.get_flow("ask").versions] == [5, 6]
        for bad in (0, -1, True, "2"):
            with pytest.raises(ValueError, match="version"):
                store.add_flow_version("ask", snapshot=SNAP_B, created_at=at(3), version=bad)  # type: ignore[arg-type]

    def test_missing_raises_not_found(self, store: MetadataStore) -> None:
        for call in (lambda: store.get_flow("nope"), lambda: store.update_flow("nope", status="Disabled")):
            with pytest.raises(NotFoundError) as info:
                call()
            assert (info.value.kind, info.value.key) == ("flow", "nope")

    def test_update_status_and_default(self, store: MetadataStore) -> None:
        store.add_flow_version("ask", snapshot=SNAP_A, created_at=T0)
        store.add_flow_version("ask", snapshot=SNAP_B, created_at=at(1))
        disabled = store.update_flow("ask", status=EntityStatus.DISABLED, updated_at=at(5))
        assert (disabled.status, disabled.updated_at) == (EntityStatus.DISABLED, at(5))
        assert store.update_flow("ask", default_version=1).default_version == 1
        assert store.get_flow("ask").status is EntityStatus.DISABLED
        with pytest.raises(NotFoundError, match="versions of flow 'ask': 1, 2"):
            store.update_flow("ask", default_version=9)
        with pytest.raises(ValueError, match="snapshot"):
            store.update_flow("ask", snapshot=SNAP_A)
        assert store.get_flow("ask").default_version == 1

    def test_list_by_name_and_active_only(self, store: MetadataStore) -> None:
        assert store.list_flows() == []
        for name in ("b", "c", "a"):
            store.add_flow_version(name, snapshot=SNAP_A, created_at=T0)
        store.add_flow_version("a", snapshot=SNAP_B, created_at=at(1))
        store.update_flow("b", status="Disabled")
        listed = store.list_flows()
        assert [f.name for f in listed] == ["a", "b", "c"]
        assert [v.version for v in listed[0].versions] == [1, 2]
        assert listed[0] == store.get_flow("a")
        assert [f.name for f in store.list_flows(active_only=True)] == ["a", "c"]

    def test_concurrent_publications_get_distinct_versions(self, store: MetadataStore) -> None:
        errors: list[BaseException] = []

        def publish() -> None:
            try:
                for i in range(3):
                    store.add_flow_version("busy", snapshot=SNAP_A, created_at=at(i))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=publish) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert [v.version for v in store.get_flow("busy").versions] == list(range(1, 13))
