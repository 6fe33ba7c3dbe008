"""Where a synchronous tool runs: on the event loop when it has proved quick, else in a worker thread.

A worker thread costs a handoff each way (about 0.1-0.2 ms here), which is most of a small tool's cost,
but keeps a slow tool (a web request, a long computation) from stalling every other node and line. So a
plain ``def`` tool starts in threads; after ``PROBATION`` runs each under ``QUICK_SECONDS`` it is called
directly on the loop, and one direct call over ``SLOW_SECONDS`` sends it back to threads for good (that
call stalled the loop once, for its own duration). ``@tool(thread=True)`` always uses a thread,
``@tool(thread=False)`` never does.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

__all__ = ["PROBATION", "QUICK_SECONDS", "SLOW_SECONDS", "observe", "runs_inline"]

QUICK_SECONDS = 0.0005
SLOW_SECONDS = 0.005
PROBATION = 3
THREAD_ATTRIBUTE = "__headrace_tool_thread__"


class _Record:
    __slots__ = ("quick_runs", "threaded")

    def __init__(self) -> None:
        self.quick_runs = 0
        self.threaded = False


_records: weakref.WeakKeyDictionary[Callable, _Record] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def runs_inline(func: Callable) -> bool:
    """Whether the next call of ``func`` runs on the event loop."""
    forced = getattr(func, THREAD_ATTRIBUTE, None)
    if forced is not None:
        return not forced
    try:
        record = _records.get(func)
    except TypeError:  # not weak-referenceable: keep to threads
        return False
    return record is not None and not record.threaded and record.quick_runs >= PROBATION


def observe(func: Callable, seconds: float, inline: bool) -> None:
    """Record how long a call of ``func`` took (the function alone, no handoff)."""
    if getattr(func, THREAD_ATTRIBUTE, None) is not None:
        return
    with _lock:
        try:
            record = _records.setdefault(func, _Record())
        except TypeError:
            return
        if inline:
            if seconds > SLOW_SECONDS:
                record.threaded = True
        elif seconds < QUICK_SECONDS:
            record.quick_runs += 1
        else:
            record.quick_runs = 0
