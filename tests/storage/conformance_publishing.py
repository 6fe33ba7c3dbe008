"""Conformance of published pipelines, pipeline endpoints, tokens and the runs that name them.

Mixed into the same test classes as ``StoreConformance`` (same ``store`` fixture).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import (
    EndpointVersion,
    EntityStatus,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    Role,
    TokenRecord,
)

from .conformance import PLUS_TWO, T0, assert_utc, at, make_run, new_id, run_in_threads


def publish(
    store: MetadataStore,
    *,
    name: str = "pp",
    created_at: Any = T0,
    status: EntityStatus = EntityStatus.ACTIVE,
    **fields: Any,
) -> PublishedPipelineRecord:
    pipeline = store.get_or_create_pipeline("hash-1", {"steps": []})
    record = PublishedPipelineRecord(
        new_id(), name, pipeline.id, status, created_at=created_at, updated_at=created_at, **fields
    )
    return store.create_published_pipeline(record)


def endpoint_of(
    store: MetadataStore, *, name: str = "ep", published: list[str] | None = None
) -> PipelineEndpointRecord:
    """An endpoint whose versions "0", "1", ... are ``published`` (one new published pipeline if None)."""
    published = published if published is not None else [publish(store).id]
    versions = tuple(EndpointVersion(str(i), pid, at(i)) for i, pid in enumerate(published))
    record = PipelineEndpointRecord(new_id(), name, EntityStatus.ACTIVE, "0", versions, T0, T0, "desc")
    return store.create_pipeline_endpoint(record)


def token(name: str = "tok", *, token_hash: str | None = None, created_at: Any = T0) -> TokenRecord:
    return TokenRecord(new_id(), name, Role.SUBMITTER, token_hash or new_id() * 2, created_at)


class PublishingConformance:
    """Published pipelines, endpoints, tokens; subclasses provide the ``store`` fixture."""

    __test__ = False

    # -- published pipelines -------------------------------------------------------------
    def test_published_pipeline_round_trips_every_field(self, store: MetadataStore) -> None:
        source, _ = make_run(store)
        pipeline = store.get_or_create_pipeline("hash-1", {})
        record = PublishedPipelineRecord(
            id=new_id(),
            name="train",
            pipeline_id=pipeline.id,
            status=EntityStatus.DISABLED,
            created_at=at(1).astimezone(PLUS_TWO),
            updated_at=at(2),
            description="a pipeline",
            version="1.2",
            continue_on_step_failure=False,
            source_run_id=source.id,
        )
        created = store.create_published_pipeline(record)
        assert created == record
        assert_utc(created.created_at)
        loaded = store.get_published_pipeline(record.id)
        assert loaded == record and isinstance(loaded.status, EntityStatus)
        assert_utc(loaded.created_at)
        assert publish(store).continue_on_step_failure is None  # "not set" survives the round trip

    def test_create_published_pipeline_errors(self, store: MetadataStore) -> None:
        first = publish(store)
        with pytest.raises(AlreadyExistsError) as info:
            store.create_published_pipeline(first)
        assert (info.value.kind, info.value.key) == ("published pipeline", first.id)
        with pytest.raises(NotFoundError) as info:
            store.create_published_pipeline(dataclasses.replace(first, id=new_id(), pipeline_id="nope"))
        assert (info.value.kind, info.value.key) == ("pipeline", "nope")
        with pytest.raises(NotFoundError) as info:
            store.get_published_pipeline("nope")
        assert (info.value.kind, info.value.key) == ("published pipeline", "nope")

    def test_list_published_pipelines_newest_first(self, store: MetadataStore) -> None:
        assert store.list_published_pipelines() == []
        a = publish(store, name="a", created_at=at(1))
        b = publish(store, name="b", created_at=at(3), status=EntityStatus.DISABLED)
        c = publish(store, name="c", created_at=at(2))
        assert store.list_published_pipelines() == [c, a]
        assert store.list_published_pipelines(active_only=False) == [b, c, a]

    def test_update_published_pipeline(self, store: MetadataStore) -> None:
        record = publish(store, description="old")
        updated = store.update_published_pipeline(
            record.id, status=EntityStatus.DISABLED, updated_at=at(9), description="new"
        )
        assert updated == dataclasses.replace(
            record, status=EntityStatus.DISABLED, updated_at=at(9), description="new"
        )
        assert store.get_published_pipeline(record.id) == updated
        assert store.update_published_pipeline(record.id, status="Active").status is EntityStatus.ACTIVE
        assert store.update_published_pipeline(record.id) == store.get_published_pipeline(record.id)
        with pytest.raises(ValueError, match="colour"):
            store.update_published_pipeline(record.id, colour="red")
        with pytest.raises(ValueError):
            store.update_published_pipeline(record.id, id="other")
        with pytest.raises(ValueError):
            store.update_published_pipeline(record.id, status="Archived")
        with pytest.raises(NotFoundError) as info:
            store.update_published_pipeline("nope", updated_at=at(1))
        assert info.value.kind == "published pipeline"
        with pytest.raises(NotFoundError) as info:
            store.update_published_pipeline(record.id, pipeline_id="no-such-pipeline")
        assert (info.value.kind, info.value.key) == ("pipeline", "no-such-pipeline")

    # -- pipeline endpoints --------------------------------------------------------------
    def test_pipeline_endpoint_round_trip_by_id_and_name(self, store: MetadataStore) -> None:
        published = [publish(store).id for _ in range(3)]
        versions = (
            EndpointVersion("1", published[1], at(1).astimezone(PLUS_TWO)),
            EndpointVersion("0", published[0], at(0)),
            EndpointVersion("10", published[2], at(2)),
        )
        record = PipelineEndpointRecord(new_id(), "ep", EntityStatus.ACTIVE, "1", versions, at(0), at(3), "d")
        created = store.create_pipeline_endpoint(record)
        assert [v.version for v in created.versions] == ["0", "1", "10"]  # numeric order
        assert created == dataclasses.replace(record, versions=created.versions)
        assert all(
            v.added_at.utcoffset() is not None and v.added_at.utcoffset().total_seconds() == 0
            for v in created.versions
        )
        assert store.get_pipeline_endpoint(record.id) == created
        assert store.get_pipeline_endpoint(name="ep") == created
        assert created.version().published_pipeline_id == published[1]
        assert isinstance(store.get_pipeline_endpoint(record.id).status, EntityStatus)

    def test_get_missing_pipeline_endpoint_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            store.get_pipeline_endpoint("nope")
        assert (info.value.kind, info.value.key) == ("pipeline endpoint", "nope")
        with pytest.raises(NotFoundError) as info:
            store.get_pipeline_endpoint(name="nope")
        assert (info.value.kind, info.value.key) == ("pipeline endpoint", "nope")
        with pytest.raises(ValueError):
            store.get_pipeline_endpoint()

    def test_create_pipeline_endpoint_errors(self, store: MetadataStore) -> None:
        first = endpoint_of(store)
        with pytest.raises(AlreadyExistsError) as info:
            store.create_pipeline_endpoint(dataclasses.replace(first, id=new_id()))
        assert (info.value.kind, info.value.key) == ("pipeline endpoint", "ep")
        with pytest.raises(AlreadyExistsError) as info:
            store.create_pipeline_endpoint(dataclasses.replace(first, name="other"))
        assert info.value.key == first.id
        missing = (EndpointVersion("0", "no-such-published", T0),)
        with pytest.raises(NotFoundError) as info:
            store.create_pipeline_endpoint(
                dataclasses.replace(first, id=new_id(), name="x", versions=missing)
            )
        assert (info.value.kind, info.value.key) == ("published pipeline", "no-such-published")
        with pytest.raises(NotFoundError):
            store.get_pipeline_endpoint(name="x")  # nothing of it was stored

    def test_archived_endpoint_frees_its_name(self, store: MetadataStore) -> None:
        old = endpoint_of(store, name="ep")
        store.update_pipeline_endpoint(
            old.id, status=EntityStatus.DISABLED, name="ep~archived~1", updated_at=at(5)
        )
        new = endpoint_of(store, name="ep")
        assert store.get_pipeline_endpoint(name="ep").id == new.id
        assert store.get_pipeline_endpoint(old.id).name == "ep~archived~1"
        assert [e.id for e in store.list_pipeline_endpoints()] == [new.id]

    def test_list_pipeline_endpoints_by_name_with_versions(self, store: MetadataStore) -> None:
        assert store.list_pipeline_endpoints() == []
        b = endpoint_of(store, name="b")
        a = endpoint_of(store, name="a", published=[publish(store).id, publish(store).id])
        c = endpoint_of(store, name="c")
        c = store.update_pipeline_endpoint(c.id, status=EntityStatus.DISABLED)
        assert store.list_pipeline_endpoints() == [a, b]
        assert store.list_pipeline_endpoints(active_only=False) == [a, b, c]
        assert [v.version for v in store.list_pipeline_endpoints()[0].versions] == ["0", "1"]

    def test_update_pipeline_endpoint(self, store: MetadataStore) -> None:
        ep = endpoint_of(store, published=[publish(store).id, publish(store).id])
        updated = store.update_pipeline_endpoint(
            ep.id, default_version=1, description="new", name="renamed", updated_at=at(7)
        )
        assert updated == dataclasses.replace(
            ep, default_version="1", description="new", name="renamed", updated_at=at(7)
        )
        assert store.get_pipeline_endpoint(name="renamed") == updated
        assert store.update_pipeline_endpoint(ep.id, status="Disabled").status is EntityStatus.DISABLED

    def test_update_pipeline_endpoint_errors(self, store: MetadataStore) -> None:
        ep = endpoint_of(store, published=[publish(store).id, publish(store).id])
        endpoint_of(store, name="taken")
        with pytest.raises(NotFoundError) as info:
            store.update_pipeline_endpoint(ep.id, default_version="7")
        assert info.value.key == "7" and "0, 1" in str(info.value)
        with pytest.raises(AlreadyExistsError) as info:
            store.update_pipeline_endpoint(ep.id, name="taken")
        assert (info.value.kind, info.value.key) == ("pipeline endpoint", "taken")
        with pytest.raises(NotFoundError) as info:
            store.update_pipeline_endpoint("nope", description="x")
        assert (info.value.kind, info.value.key) == ("pipeline endpoint", "nope")
        for bad in ({"versions": ()}, {"id": "x"}, {"created_at": T0}, {"status": "Archived"}):
            with pytest.raises(ValueError):
                store.update_pipeline_endpoint(ep.id, **bad)
        assert store.get_pipeline_endpoint(ep.id) == ep

    def test_add_endpoint_version_appends_max_plus_one(self, store: MetadataStore) -> None:
        ep = endpoint_of(store)
        second = publish(store).id
        grown = store.add_endpoint_version(ep.id, second, make_default=False, added_at=at(10))
        assert [v.version for v in grown.versions] == ["0", "1"]
        assert grown.default_version == "0" and grown.updated_at == at(10)
        assert grown.version("1") == EndpointVersion("1", second, at(10))
        assert store.get_pipeline_endpoint(ep.id) == grown
        third = publish(store).id
        grown = store.add_endpoint_version(ep.id, third, make_default=True, added_at=at(11))
        assert grown.default_version == "2" and grown.version().published_pipeline_id == third
        assert store.get_pipeline_endpoint(ep.id) == grown

    def test_add_endpoint_version_compares_numbers_not_strings(self, store: MetadataStore) -> None:
        ep = endpoint_of(store)
        for i in range(10):
            ep = store.add_endpoint_version(ep.id, publish(store).id, make_default=False, added_at=at(i))
        assert [v.version for v in ep.versions] == [str(i) for i in range(11)]
        ep = store.add_endpoint_version(ep.id, publish(store).id, make_default=True, added_at=at(20))
        assert ep.default_version == "11"

    def test_add_endpoint_version_errors(self, store: MetadataStore) -> None:
        ep = endpoint_of(store)
        with pytest.raises(AlreadyExistsError) as info:
            store.add_endpoint_version(
                ep.id, ep.versions[0].published_pipeline_id, make_default=True, added_at=at(1)
            )
        assert info.value.kind == "pipeline endpoint version"
        with pytest.raises(NotFoundError) as info:
            store.add_endpoint_version("nope", publish(store).id, make_default=True, added_at=at(1))
        assert info.value.kind == "pipeline endpoint"
        with pytest.raises(NotFoundError) as info:
            store.add_endpoint_version(ep.id, "no-such-published", make_default=True, added_at=at(1))
        assert (info.value.kind, info.value.key) == ("published pipeline", "no-such-published")
        assert store.get_pipeline_endpoint(ep.id) == ep

    def test_add_endpoint_version_is_atomic_across_threads(self, store: MetadataStore) -> None:
        ep = endpoint_of(store)
        published = [publish(store).id for _ in range(8)]
        results = run_in_threads(
            8, lambda i: store.add_endpoint_version(ep.id, published[i], make_default=False, added_at=at(i))
        )
        final = store.get_pipeline_endpoint(ep.id)
        assert [v.version for v in final.versions] == [str(i) for i in range(9)]
        assert {v.published_pipeline_id for v in final.versions[1:]} == set(published)
        # Each caller saw its own version, and one more version than the caller before it.
        assert sorted(len(r.versions) for r in results) == list(range(2, 10))

    def test_same_version_added_across_threads_wins_once(self, store: MetadataStore) -> None:
        ep = endpoint_of(store)
        published = publish(store).id

        def add(i: int) -> bool:
            try:
                store.add_endpoint_version(ep.id, published, make_default=True, added_at=at(i))
            except AlreadyExistsError:
                return False
            return True

        assert sum(run_in_threads(6, add)) == 1
        assert [v.version for v in store.get_pipeline_endpoint(ep.id).versions] == ["0", "1"]

    # -- runs of published pipelines -----------------------------------------------------
    def test_list_runs_by_published_pipeline_and_endpoint(self, store: MetadataStore) -> None:
        plain, _ = make_run(store, created_at=at(1))
        via_pp, _ = make_run(store, created_at=at(2), published_pipeline_id="pp1")
        via_ep, _ = make_run(
            store,
            created_at=at(3),
            published_pipeline_id="pp1",
            pipeline_endpoint_id="ep1",
            pipeline_endpoint_version="0",
        )
        other, _ = make_run(store, created_at=at(4), published_pipeline_id="pp2", pipeline_endpoint_id="ep2")
        assert store.get_run(via_ep.id) == via_ep
        assert store.get_run(plain.id).published_pipeline_id is None

        def ids(**kw: Any) -> list[str]:
            return [r.id for r in store.list_runs(**kw)[0]]

        assert ids(published_pipeline_id="pp1") == [via_ep.id, via_pp.id]
        assert ids(pipeline_endpoint_id="ep1") == [via_ep.id]
        assert ids(published_pipeline_id="pp1", pipeline_endpoint_id="ep2") == []
        assert ids(published_pipeline_id="pp2", statuses=["Queued"]) == [other.id]
        assert ids(published_pipeline_id="nope") == []
        updated = store.update_run(plain.id, pipeline_endpoint_id="ep1", pipeline_endpoint_version="3")
        assert updated.pipeline_endpoint_version == "3"
        assert ids(pipeline_endpoint_id="ep1") == [via_ep.id, plain.id]

    # -- tokens --------------------------------------------------------------------------
    def test_token_round_trip_and_lookup_by_hash(self, store: MetadataStore) -> None:
        record = TokenRecord(
            new_id(),
            "ci",
            Role.ADMIN,
            "ab" * 32,
            at(1).astimezone(PLUS_TWO),
            revoked_at=None,
            last_used_at=at(2),
        )
        assert store.create_token(record) == record
        loaded = store.get_token_by_hash("ab" * 32)
        assert loaded == record and loaded.role is Role.ADMIN
        assert_utc(loaded.created_at)
        with pytest.raises(NotFoundError) as info:
            store.get_token_by_hash("cd" * 32)
        assert info.value.kind == "token" and "cd" * 32 not in str(info.value)

    def test_create_token_errors(self, store: MetadataStore) -> None:
        first = store.create_token(token())
        with pytest.raises(AlreadyExistsError) as info:
            store.create_token(dataclasses.replace(first, token_hash="ef" * 32))
        assert (info.value.kind, info.value.key) == ("token", first.id)
        with pytest.raises(AlreadyExistsError) as info:
            store.create_token(dataclasses.replace(first, id=new_id(), name="copy"))
        assert info.value.kind == "token" and first.token_hash not in str(info.value)
        assert store.list_tokens() == [first]

    def test_list_tokens_oldest_first_revoked_included(self, store: MetadataStore) -> None:
        assert store.list_tokens() == []
        b = store.create_token(token("b", created_at=at(2)))
        a = store.create_token(token("a", created_at=at(1)))
        b = store.update_token(b.id, revoked_at=at(3))
        assert store.list_tokens() == [a, b]

    def test_update_token(self, store: MetadataStore) -> None:
        record = store.create_token(token())
        updated = store.update_token(record.id, last_used_at=at(5), name="renamed")
        assert updated == dataclasses.replace(record, last_used_at=at(5), name="renamed")
        revoked = store.update_token(record.id, revoked_at=at(6))
        assert store.get_token_by_hash(record.token_hash) == revoked
        assert_utc(revoked.revoked_at)
        for bad in ({"role": Role.ADMIN}, {"token_hash": "x"}, {"id": "x"}, {"colour": 1}):
            with pytest.raises(ValueError):
                store.update_token(record.id, **bad)
        with pytest.raises(NotFoundError) as info:
            store.update_token("nope", revoked_at=at(1))
        assert (info.value.kind, info.value.key) == ("token", "nope")
