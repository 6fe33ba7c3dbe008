"""ParallelRunStep: batch processing of a dataset in mini-batches over long-lived worker processes.

``ParallelRunConfig`` and ``ParallelRunStep`` are Azure ML's classes; ``EntryScript`` is what entry scripts
import from ``azureml_user.parallel_run`` on Azure ML (the logger and the output folder). Names load lazily:
the driver and the workers import only what they use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"EntryScript": "entry_script", "ParallelRunConfig": "config", "ParallelRunStep": "step"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
