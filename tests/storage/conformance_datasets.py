"""Conformance of the dataset methods: versions per name, lookups, updates, unregistering, lineage.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import threading
import uuid

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.dataset_records import DatasetRecord, DatasetUse

from .conformance import PLUS_TWO, T0, assert_utc


def version(name: str | None = "iris", **changes: object) -> DatasetRecord:
    base = dict(id=uuid.uuid4().hex, name=name, version=None, kind="file",
                definition={"sources": [{"datastore": "ds", "path": "raw/*.csv"}]}, manifest="m/abc",
                file_count=2, total_bytes=10, description=None, tags={}, created_at=T0.astimezone(PLUS_TWO))
    return DatasetRecord(**{**base, **changes})  # type: ignore[arg-type]


class DatasetConformance:
    """Dataset versions and lineage; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_versions_count_per_name_from_one(self, store: MetadataStore) -> None:
        first = store.add_dataset(version(version=7))
        second = store.add_dataset(version(total_bytes=20))
        other = store.add_dataset(version("other"))
        assert (first.version, second.version, other.version) == (1, 2, 1)
        assert store.get_dataset(first.id) == first
        assert_utc(store.get_dataset(first.id).created_at)
        assert store.get_dataset_version("iris") == second
        assert store.get_dataset_version("iris", 1) == first
        assert [d.version for d in store.list_datasets()] == [2, 1]
        assert [(d.name, d.version) for d in store.list_datasets(all_versions=True)] == [
            ("iris", 1), ("iris", 2), ("other", 1)]
        assert store.list_datasets("other") == [other]

    def test_missing_names_versions_and_ids_raise_not_found(self, store: MetadataStore) -> None:
        store.add_dataset(version())
        for call in (lambda: store.get_dataset("nope"), lambda: store.get_dataset_version("nope"),
                     lambda: store.get_dataset_version("iris", 2), lambda: store.get_dataset_version("iris", 2**70),
                     lambda: store.delete_dataset_name("nope"),
                     lambda: store.update_dataset("nope", description="x")):
            with pytest.raises(NotFoundError):
                call()

    def test_an_id_is_never_reused(self, store: MetadataStore) -> None:
        first = store.add_dataset(version())
        with pytest.raises(AlreadyExistsError):
            store.add_dataset(version(id=first.id))

    def test_unnamed_versions_are_stored_but_not_listed(self, store: MetadataStore) -> None:
        saved = store.add_dataset(version(None, version=3))
        assert saved.version is None and store.get_dataset(saved.id) == saved
        assert store.list_datasets() == []

    def test_description_and_tags_change_nothing_else(self, store: MetadataStore) -> None:
        first = store.add_dataset(version())
        changed = store.update_dataset(first.id, description="flowers", tags={"team": "a"})
        assert (changed.description, changed.tags, changed.manifest) == ("flowers", {"team": "a"}, "m/abc")
        with pytest.raises(ValueError, match="cannot change manifest"):
            store.update_dataset(first.id, manifest="m/other")

    def test_unregistering_keeps_the_versions_runs_used(self, store: MetadataStore) -> None:
        first = store.add_dataset(version())
        store.add_dataset(version())
        assert store.delete_dataset_name("iris") == 2
        assert store.list_datasets() == []
        kept = store.get_dataset(first.id)
        assert (kept.name, kept.version, kept.manifest) == (None, None, "m/abc")
        assert store.add_dataset(version()).version == 1  # the name starts again

    def test_lineage_is_recorded_once_per_use(self, store: MetadataStore) -> None:
        ds = store.add_dataset(version())
        use = DatasetUse(ds.id, "run-1", "train", "input", T0)
        store.add_dataset_use(use)
        store.add_dataset_use(use)
        store.add_dataset_use(DatasetUse(ds.id, "run-2", "prep", "output", T0))
        assert [u.run_id for u in store.list_dataset_uses(dataset_id=ds.id)] == ["run-1", "run-2"]
        assert store.list_dataset_uses(run_id="run-1") == [use]

    def test_concurrent_registrations_get_distinct_versions(self, store: MetadataStore) -> None:
        if "memory" in repr(getattr(store, "url", "")):
            pytest.skip("one connection")
        got: list[int] = []
        errors: list[BaseException] = []

        def register() -> None:
            try:
                got.append(store.add_dataset(version()).version or 0)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=register) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == [] and sorted(got) == [1, 2, 3, 4, 5, 6]
