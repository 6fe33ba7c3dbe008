"""A read cache in front of a metadata store, for the REST submit hot path.

Graphs and experiments never change once written, so they are cached for good. Published
pipelines, endpoints and tokens can change (disable, set-default, revoke): they are cached for
``ttl`` seconds, and dropped at once when changed through this store. A change made by another
process (e.g. ``headrace token revoke``) is seen within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from headrace.storage.base import MetadataStore
from headrace.storage.records import ExperimentRecord, PipelineRecord


class _Cache:
    def __init__(self, ttl: float | None, size: int = 4096):
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            stamp, value = hit
            if self.ttl is not None and time.monotonic() - stamp > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class CachedMetadataStore:
    """Delegates to ``inner``; caches the lookups every submission repeats.

    Not a subclass: the ABC's abstract methods would shadow the delegation. It is registered as
    a virtual subclass instead, so ``isinstance(store, MetadataStore)`` holds.
    """

    def __init__(self, inner: MetadataStore, ttl: float = 1.0):
        self.inner = inner
        self._graphs = _Cache(None, 1024)
        self._experiments = _Cache(None)
        self._published = _Cache(ttl)
        self._endpoints = _Cache(ttl)
        self._tokens = _Cache(ttl, 1024)

    def __getattr__(self, name: str) -> Any:  # everything not overridden below
        return getattr(self.inner, name)

    # -- cached reads --------------------------------------------------------------------
    def get_pipeline(self, pipeline_id: str) -> PipelineRecord:
        return self._graphs.get(pipeline_id) or self._graphs.put(pipeline_id, self.inner.get_pipeline(pipeline_id))

    def get_or_create_experiment(self, name: str) -> ExperimentRecord:
        return self._experiments.get(name) or self._experiments.put(name, self.inner.get_or_create_experiment(name))

    def get_experiment(self, name: str) -> ExperimentRecord:
        return self._experiments.get(name) or self._experiments.put(name, self.inner.get_experiment(name))

    def get_published_pipeline(self, published_id: str):
        return self._published.get(published_id) or self._published.put(
            published_id, self.inner.get_published_pipeline(published_id))

    def get_pipeline_endpoint(self, endpoint_id: str | None = None, *, name: str | None = None):
        key = ("id", endpoint_id) if endpoint_id else ("name", name)
        return self._endpoints.get(key) or self._endpoints.put(
            key, self.inner.get_pipeline_endpoint(endpoint_id, name=name))

    def get_token_by_hash(self, token_hash: str):
        return self._tokens.get(token_hash) or self._tokens.put(token_hash, self.inner.get_token_by_hash(token_hash))

    # -- writes that invalidate ----------------------------------------------------------
    def update_published_pipeline(self, published_id: str, **changes: Any):
        self._published.clear()
        return self.inner.update_published_pipeline(published_id, **changes)

    def update_pipeline_endpoint(self, endpoint_id: str, **changes: Any):
        self._endpoints.clear()
        return self.inner.update_pipeline_endpoint(endpoint_id, **changes)

    def add_endpoint_version(self, endpoint_id: str, published_pipeline_id: str, **kw: Any):
        self._endpoints.clear()
        return self.inner.add_endpoint_version(endpoint_id, published_pipeline_id, **kw)

    def update_token(self, token_id: str, **changes: Any):
        self._tokens.clear()
        return self.inner.update_token(token_id, **changes)

    def close(self) -> None:
        self.inner.close()


MetadataStore.register(CachedMetadataStore)
