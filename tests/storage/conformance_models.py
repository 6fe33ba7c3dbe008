"""Conformance of the model registry methods: versions, updates, deletion, stages with history, aliases.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import threading

import pytest

from headrace.errors import NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.model_records import ModelAliasRecord, ModelRecord

from .conformance import PLUS_TWO, T0, assert_utc


def version(name: str = "churn", **changes: object) -> ModelRecord:
    base = dict(id="", name=name, version=0, root="model.pkl",
                files=[{"path": "model.pkl", "size": 3, "sha256": "ab" * 32}], file_count=1, total_bytes=3,
                tags={"team": "a"}, properties={"auc": "0.9"}, run_id="run-1", step_name="train",
                created_by="user:test", created_at=T0.astimezone(PLUS_TWO))
    return ModelRecord(**{**base, **changes})  # type: ignore[arg-type]


class ModelConformance:
    """Model versions, stages and aliases; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_versions_count_per_name_from_one(self, store: MetadataStore) -> None:
        first = store.add_model_version(version(version=7))
        second = store.add_model_version(version(total_bytes=9))
        other = store.add_model_version(version("other", run_id="run-2"))
        assert (first.id, second.id, other.id) == ("churn:1", "churn:2", "other:1")
        assert store.get_model_version("churn", 1) == first
        assert store.get_model_version("churn") == second
        assert_utc(store.get_model_version("churn").created_at)
        assert first.stage == "None" and first.files == version().files
        assert [m.id for m in store.list_model_versions()] == ["churn:1", "churn:2", "other:1"]
        assert [m.id for m in store.list_model_versions(latest=True)] == ["churn:2", "other:1"]
        assert [m.id for m in store.list_model_versions("churn", latest=True)] == ["churn:2"]
        assert [m.id for m in store.list_model_versions(run_id="run-2")] == ["other:1"]

    def test_missing_versions_raise_not_found(self, store: MetadataStore) -> None:
        store.add_model_version(version())
        for call in (lambda: store.get_model_version("nope"), lambda: store.get_model_version("churn", 2),
                     lambda: store.delete_model_version("churn", 2),
                     lambda: store.update_model_version("churn", 2, description="x"),
                     lambda: store.set_model_stage("churn", 2, "Staging", changed_by=None),
                     lambda: store.set_model_alias(ModelAliasRecord("churn", "best", 2, None, T0)),
                     lambda: store.delete_model_alias("churn", "best")):
            with pytest.raises(NotFoundError):
                call()

    def test_versions_beyond_any_column_are_missing_not_errors(self, store: MetadataStore) -> None:
        """A version number of any size (a URL can carry one) names no version: binding it once failed."""
        store.add_model_version(version())
        for number in (2**31, 2**63, -(2**63) - 1, 2**111):
            assert store.list_model_stage_changes("churn", number) == []
            for call in (lambda number=number: store.get_model_version("churn", number),
                         lambda number=number: store.delete_model_version("churn", number),
                         lambda number=number: store.update_model_version("churn", number, description="x"),
                         lambda number=number: store.set_model_stage("churn", number, "Staging", changed_by=None),
                         lambda number=number: store.set_model_alias(ModelAliasRecord("churn", "best", number, None, T0))):
                with pytest.raises(NotFoundError):
                    call()
        assert store.get_model_version("churn", 1).stage == "None" and store.list_model_aliases("churn") == []

    def test_updates_change_only_description_tags_and_properties(self, store: MetadataStore) -> None:
        store.add_model_version(version())
        changed = store.update_model_version("churn", 1, description="d", tags={}, properties={"auc": "0.9", "f": "1"})
        assert (changed.description, changed.tags, changed.properties["f"]) == ("d", {}, "1")
        with pytest.raises(ValueError, match="cannot change files"):
            store.update_model_version("churn", 1, files=[])

    def test_stage_changes_are_recorded_and_archive_the_previous_holder(self, store: MetadataStore) -> None:
        for _ in range(3):
            store.add_model_version(version())
        store.set_model_stage("churn", 1, "Production", changed_by="token:ci", comment="first")
        moved, changes = store.set_model_stage("churn", 2, "Production", changed_by="token:ci")
        assert moved.stage == "Production" and [c.version for c in changes] == [2]
        assert store.get_model_version("churn", 1).stage == "Production"  # without archive_existing it stays
        moved, changes = store.set_model_stage("churn", 3, "Production", changed_by="user:a", comment="better",
                                               archive_existing=True)
        assert [(c.version, c.from_stage, c.to_stage) for c in changes] == [
            (3, "None", "Production"), (1, "Production", "Archived"), (2, "Production", "Archived")]
        assert [m.stage for m in store.list_model_versions("churn")] == ["Archived", "Archived", "Production"]
        history = store.list_model_stage_changes("churn")
        assert [(c.version, c.to_stage, c.changed_by) for c in history] == [
            (1, "Production", "token:ci"), (2, "Production", "token:ci"), (3, "Production", "user:a"),
            (1, "Archived", "user:a"), (2, "Archived", "user:a")]
        assert history[0].comment == "first" and history[2].comment == "better"
        assert_utc(history[0].changed_at)
        assert [c.to_stage for c in store.list_model_stage_changes("churn", 1)] == ["Production", "Archived"]
        same, none = store.set_model_stage("churn", 3, "Production", changed_by=None)
        assert none == [] and same.stage == "Production"

    def test_aliases_move_and_go_with_their_version(self, store: MetadataStore) -> None:
        store.add_model_version(version())
        store.add_model_version(version())
        store.set_model_alias(ModelAliasRecord("churn", "champion", 1, "user:a", T0))
        store.set_model_alias(ModelAliasRecord("churn", "champion", 2, "user:a", T0))
        store.set_model_alias(ModelAliasRecord("churn", "old", 1, "user:a", T0))
        assert [(a.alias, a.version) for a in store.list_model_aliases("churn")] == [("champion", 2), ("old", 1)]
        assert dict(store.model_alias_map("churn")) == {2: ["champion"], 1: ["old"]}
        store.set_model_stage("churn", 1, "Staging", changed_by=None)
        store.delete_model_version("churn", 1)
        assert [a.alias for a in store.list_model_aliases()] == ["champion"]
        assert store.list_model_stage_changes("churn") == []
        store.delete_model_alias("churn", "champion")
        assert store.list_model_aliases("churn") == []

    def test_concurrent_registrations_get_distinct_versions(self, store: MetadataStore) -> None:
        got: list[int] = []
        errors: list[BaseException] = []

        def register() -> None:
            try:
                got.append(store.add_model_version(version()).version)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=register) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == [] and sorted(got) == [1, 2, 3, 4, 5, 6]
