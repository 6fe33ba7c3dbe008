"""Service health, for ``GET /api/v1/health`` and monitoring."""

from __future__ import annotations

from headrace.services.bundle import Services


def database_kind(svc: Services) -> str:
    """The metadata store's backend (``sqlite``, ``postgresql+psycopg``...), after a cheap query.

    Raises:
        StoreError: the metadata store cannot be reached.
    """
    svc.store.list_datastores()
    url = str(getattr(svc.store, "url", "") or "")
    return url.split(":", 1)[0] if url else type(svc.store).__name__
