"""Writes of a run's state that must land: retried while the metadata store's disk is full.

A run whose step ended but whose end could not be recorded would stay Running for ever (its agent
keeps renewing its lease). The store rolls a refused write back whole, so writing it again once
space is freed records exactly what happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from headrace.errors import StoreFullError
from headrace.logs import get_logger

logger = get_logger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.1
MAX_DELAY = 5.0


def until_written(write: Callable[[], T], what: str, give_up: threading.Event) -> T:
    """``write()``, again and again while the store is full (backing off to ``MAX_DELAY``).

    Raises:
        StoreFullError: the store is still full when ``give_up`` is set (the agent is stopping).
    """
    delay = FIRST_DELAY
    warned = False
    while True:
        try:
            return write()
        except StoreFullError as exc:
            if not warned:
                logger.warning("%s: %s; retrying until the metadata store accepts writes again", what, exc)
                warned = True
            if give_up.wait(delay):
                raise
            delay = min(delay * 2, MAX_DELAY)
