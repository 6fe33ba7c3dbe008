"""Jinja filters shared by the pages: times, durations, sizes, status classes and Dask resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from headrace.core.command_step import command_text
from headrace.core.resources import describe


def when(value: datetime | None) -> str:
    """A UTC timestamp as ``2026-11-21 14:05:09 UTC`` (pages add the viewer's local time with JS)."""
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def duration(seconds: float | None) -> str:
    """``950 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def size(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def status_class(value: Any) -> str:
    """CSS class for a status value or enum: ``status status-finished``."""
    text = getattr(value, "value", value) or "unknown"
    return f"status status-{str(text).lower()}"


def install(env: Any) -> None:
    env.filters.update(when=when, iso=iso, duration=duration, size=size, status_class=status_class,
                       resources=describe, command_text=command_text)
