"""Azure ML SDK v1's module paths, served by headrace (the ``headrace-azureml`` compatibility package).

``from azureml.core import Workspace, Experiment`` gives ``headrace.Workspace`` and ``headrace.Experiment``;
every module path of the table in ``_headrace_aliases`` works the same way. This package refuses to load
next to Microsoft's own ``azureml-*`` distributions: both own the ``azureml`` package, and serving one in
place of the other silently would be worse than an error.
"""

from __future__ import annotations

import os
import sys


def _others() -> list[str]:
    """Microsoft's azureml-* distributions installed on ``sys.path`` (their metadata folders' names).

    A directory listing per path entry: ``importlib.metadata.packages_distributions()`` reads every
    distribution's files and costs ~0.3 s at each start.
    """
    found = set()
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            lower = name.lower()
            if lower.startswith("azureml") and lower.endswith((".dist-info", ".egg-info")):
                found.add(lower.split("-")[0].replace("_", "-"))
    return sorted(found)


_OTHERS = _others()
if _OTHERS:
    raise ImportError(
        "headrace-azureml serves the azureml.* module paths from headrace, but Microsoft's "
        f"{', '.join(_OTHERS)} {'is' if len(_OTHERS) == 1 else 'are'} installed in this environment too; "
        "use one or the other: `pip uninstall headrace-azureml` to use Azure ML, or uninstall "
        f"{' '.join(_OTHERS)} (or use a separate virtual environment) to run this code on headrace")

from azureml._headrace_aliases import install  # noqa: E402

install()
