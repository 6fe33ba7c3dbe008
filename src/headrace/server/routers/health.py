"""``GET /health``: no token needed."""

from __future__ import annotations

from fastapi import APIRouter

from headrace import __version__
from headrace.schemas import HealthRead
from headrace.server.deps import ServicesDep
from headrace.services import status

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthRead)
def health(svc: ServicesDep) -> HealthRead:
    """Liveness and the metadata store's backend; answers without a token."""
    return HealthRead(Version=__version__, Database=status.database_kind(svc))
