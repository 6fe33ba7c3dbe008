"""UI pages: runs (filled in by the runs area)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
