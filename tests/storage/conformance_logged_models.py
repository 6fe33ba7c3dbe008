"""Conformance of MLflow's logged models: add, get, update, newest-first filtered pages.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import dataclasses

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.model_records import LoggedModelRecord

from .conformance import PLUS_TWO, assert_utc, at


def logged(model_id: str, seconds: float = 0, **changes: object) -> LoggedModelRecord:
    base = dict(id=model_id, experiment_id="exp-1", name="model", source_run_id="run-1", model_type="sklearn",
                tags={"mlflow.source.name": "train.py"}, params={"C": "1.0"},
                created_at=at(seconds).astimezone(PLUS_TWO), updated_at=at(seconds))
    return LoggedModelRecord(**{**base, **changes})  # type: ignore[arg-type]


class LoggedModelConformance:
    """Logged models; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_a_logged_model_is_stored_as_given_and_ids_are_unique(self, store: MetadataStore) -> None:
        added = store.add_logged_model(logged("m-1"))
        got = store.get_logged_model("m-1")
        assert got == added and got.status == "PENDING" and got.params == {"C": "1.0"} and got.deleted is False
        assert_utc(got.created_at)
        assert got.created_at == at(0)
        with pytest.raises(AlreadyExistsError):
            store.add_logged_model(logged("m-1"))
        with pytest.raises(NotFoundError, match="m-404"):
            store.get_logged_model("m-404")

    def test_updates_change_only_what_may_change(self, store: MetadataStore) -> None:
        store.add_logged_model(logged("m-1"))
        metric = {"key": "acc", "value": 0.9, "timestamp": 1, "step": 0, "run_id": "run-1"}
        done = store.update_logged_model("m-1", status="READY", tags={"a": "b"}, params={"C": "1.0", "n": "2"},
                                         metrics=[metric], updated_at=at(5))
        assert (done.status, done.tags, done.params, done.metrics) == ("READY", {"a": "b"}, {"C": "1.0", "n": "2"},
                                                                        [metric])
        assert store.get_logged_model("m-1") == done and done.updated_at == at(5)
        with pytest.raises(ValueError, match="name"):
            store.update_logged_model("m-1", name="other")
        with pytest.raises(NotFoundError):
            store.update_logged_model("m-404", status="READY")

    def test_lists_are_newest_first_filtered_and_paged(self, store: MetadataStore) -> None:
        store.add_logged_model(logged("m-a", 1))
        store.add_logged_model(logged("m-b", 2, name="other", source_run_id="run-2"))
        store.add_logged_model(logged("m-c", 3, experiment_id="exp-2"))
        store.add_logged_model(logged("m-d", 4))
        store.update_logged_model("m-d", deleted=True)

        def ids(**kw: object) -> list[str]:
            return [m.id for m in store.list_logged_models(**kw)[0]]  # type: ignore[arg-type]

        assert ids() == ["m-c", "m-b", "m-a"]
        assert ids(include_deleted=True) == ["m-d", "m-c", "m-b", "m-a"]
        assert ids(experiment_ids=["exp-1"]) == ["m-b", "m-a"] and ids(experiment_ids=[]) == []
        assert ids(source_run_id="run-1") == ["m-c", "m-a"] and ids(name="other") == ["m-b"]
        first, cursor = store.list_logged_models(limit=2)
        assert [m.id for m in first] == ["m-c", "m-b"] and cursor is not None
        rest, end = store.list_logged_models(limit=2, cursor=cursor)
        assert [m.id for m in rest] == ["m-a"] and end is None
        with pytest.raises(ValueError, match="cursor"):
            store.list_logged_models(cursor="nonsense")
        assert dataclasses.asdict(store.get_logged_model("m-d"))["deleted"] is True
