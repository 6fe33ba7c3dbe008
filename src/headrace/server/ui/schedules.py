"""UI pages: schedules (filled in by the schedules area)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
