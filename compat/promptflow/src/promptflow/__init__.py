"""prompt flow's module paths, served by headrace (the ``headrace-promptflow`` compatibility package).

``from promptflow.core import tool`` gives ``headrace.flows.tool``; the connection classes, ``PFClient`` and
the LLM tool functions are thin adapters over headrace's own objects. This package refuses to load next to
Microsoft's ``promptflow*`` distributions: both own the ``promptflow`` package, and serving one in place of
the other silently would be worse than an error.
"""

from __future__ import annotations

import os
import sys


def _others() -> list[str]:
    """Microsoft's promptflow distributions on ``sys.path`` (their metadata folders' names; a directory
    listing per path entry, which is much cheaper than ``importlib.metadata``)."""
    found = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            lower = name.lower()
            if lower.startswith("promptflow") and lower.endswith((".dist-info", ".egg-info")):
                found.add(lower.split("-")[0].replace("_", "-"))
    return sorted(found)


_OTHERS = _others()
if _OTHERS:
    raise ImportError(
        "headrace-promptflow serves the promptflow.* module paths from headrace, but Microsoft's "
        f"{', '.join(_OTHERS)} {'is' if len(_OTHERS) == 1 else 'are'} installed in this environment too; "
        "use one or the other: `pip uninstall headrace-promptflow` to use prompt flow, or uninstall "
        f"{' '.join(_OTHERS)} (or use a separate virtual environment) to run this code on headrace")

from headrace.flows import log_metric, tool  # noqa: E402
from promptflow._client import PFClient, load_flow  # noqa: E402
from promptflow.tracing import start_trace, trace  # noqa: E402

__all__ = ["PFClient", "load_flow", "log_metric", "start_trace", "tool", "trace"]
