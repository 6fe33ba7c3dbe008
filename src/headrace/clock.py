"""The one place that reads the wall clock; tests replace it with a frozen or stepping clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests only); ``None`` restores the real one."""
    global _now
    _now = fn or (lambda: datetime.now(UTC))


def monotonic() -> float:
    """Seconds from an arbitrary origin, for measuring durations."""
    return time.monotonic()
