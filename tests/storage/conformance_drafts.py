"""Conformance of pipeline drafts. Mixed into the same test classes as ``StoreConformance``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.draft_records import PipelineDraftRecord

from .conformance import T0, assert_utc, at, new_id


def draft(store: MetadataStore, *, name: str = "draft", created_at: Any = T0, **fields: Any) -> PipelineDraftRecord:
    pipeline = store.get_or_create_pipeline("hash-draft", {"steps": []})
    record = PipelineDraftRecord(new_id(), name, "exp", pipeline.id, created_at, created_at, **fields)
    return store.create_pipeline_draft(record)


class DraftConformance:
    """Pipeline drafts; subclasses provide the ``store`` fixture."""

    __test__ = False

    def test_draft_round_trip(self, store: MetadataStore) -> None:
        made = draft(store, description="d", parameters={"n": 3, "data": {"datastore": "ds", "path": "p"}},
                     continue_on_step_failure=True, tags={"dev": "true"}, properties={"train": "value"},
                     parent_pipeline_id="pp-1")
        got = store.get_pipeline_draft(made.id)
        assert got == made
        assert_utc(got.created_at)
        with pytest.raises(NotFoundError, match="pipeline draft"):
            store.get_pipeline_draft("nope")

    def test_duplicate_id_and_unknown_pipeline(self, store: MetadataStore) -> None:
        made = draft(store)
        with pytest.raises(AlreadyExistsError):
            store.create_pipeline_draft(made)
        orphan = dataclasses.replace(made, id=new_id(), pipeline_id="no-such-graph")
        with pytest.raises(NotFoundError, match="no-such-graph"):
            store.create_pipeline_draft(orphan)

    def test_list_newest_first_and_by_tags(self, store: MetadataStore) -> None:
        old = draft(store, name="old", created_at=at(1), tags={"dev": "true", "team": "a"})
        new = draft(store, name="new", created_at=at(2), tags={"dev": "true"})
        other = draft(store, name="other", created_at=at(3))
        assert [d.id for d in store.list_pipeline_drafts()] == [other.id, new.id, old.id]
        assert [d.id for d in store.list_pipeline_drafts(tags={"dev": "true"})] == [new.id, old.id]
        assert [d.id for d in store.list_pipeline_drafts(tags={"dev": "true", "team": "a"})] == [old.id]
        assert store.list_pipeline_drafts(tags={"dev": "false"}) == []

    def test_update(self, store: MetadataStore) -> None:
        made = draft(store)
        graph = store.get_or_create_pipeline("hash-draft-2", {"steps": [1]})
        updated = store.update_pipeline_draft(made.id, name="renamed", pipeline_id=graph.id, parameters={"n": 1},
                                              last_submitted_run_id="run-1", updated_at=at(5))
        assert updated == dataclasses.replace(made, name="renamed", pipeline_id=graph.id, parameters={"n": 1},
                                              last_submitted_run_id="run-1", updated_at=at(5))
        assert store.get_pipeline_draft(made.id) == updated
        with pytest.raises(ValueError, match="created_at"):
            store.update_pipeline_draft(made.id, created_at=at(9))
        with pytest.raises(NotFoundError):
            store.update_pipeline_draft("nope", name="x")
        with pytest.raises(NotFoundError, match="no-such-graph"):
            store.update_pipeline_draft(made.id, pipeline_id="no-such-graph")

    def test_delete(self, store: MetadataStore) -> None:
        made = draft(store)
        store.delete_pipeline_draft(made.id)
        with pytest.raises(NotFoundError):
            store.get_pipeline_draft(made.id)
        with pytest.raises(NotFoundError):
            store.delete_pipeline_draft(made.id)
        assert store.get_pipeline(made.pipeline_id).id == made.pipeline_id  # the graph stays
