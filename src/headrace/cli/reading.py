"""What read-only commands (``run list``, ``run show``, ``experiment list``) read from.

A remote workspace answers through its usual backend. A local home is read through its metadata
store alone: building the whole workspace (datastores, executor, agent) imports most of headrace and
writes to the home, which a listing needs neither of. Scripts call these commands in loops.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

_PAGE = 100


def _locate() -> dict[str, Any]:
    """``Workspace.from_config``'s lookup without opening anything: what it would have opened."""
    from headrace.sdk.workspace import Workspace

    class Located(Workspace):
        def __init__(self, home: Any = None, *, db_url: str | None = None, url: str | None = None,
                     token: str | None = None, **_: Any):
            self.found = {"home": home, "db_url": db_url, "url": url, "token": token}

    return Located.from_config().found  # type: ignore[attr-defined]


def quick_runs(home: Path | None, experiment_name: str | None, limit: int) -> list[Any] | None:
    """``run list``'s runs read straight from a SQLite home (no SQLAlchemy, no settings models), or None when
    the workspace is remote, has another database, or its schema is not the newest: use ``read_backend``."""
    found: dict[str, Any] = {"home": home, "db_url": None, "url": None} if home is not None else _locate()
    if found["url"] or found["db_url"] or os.environ.get("HEADRACE_DB_URL") or limit < 1:
        return None
    from headrace.wiring import quick_run_list

    folder = Path(os.environ.get("HEADRACE_HOME") or ".headrace") if found["home"] is None else Path(found["home"])
    return quick_run_list(folder.expanduser().resolve(), experiment_name, limit)


def read_backend(home: Path | None) -> Any:
    """An object with the read methods of the SDK's backends, for the workspace ``--home`` names (else the
    usual lookup: ``HEADRACE_URL``, ``HEADRACE_HOME``, ``.headrace/config.json``)."""
    if home is not None:
        os.environ["HEADRACE_HOME"] = str(home)
        found: dict[str, Any] = {"home": home, "db_url": None, "url": None}
    else:
        found = _locate()
    if found["url"]:
        from headrace.sdk.workspace import Workspace

        return Workspace(url=found["url"], token=found["token"])._backend
    from headrace.config import load_settings

    settings = load_settings(home=found["home"], db_url=found["db_url"])
    local = sys.modules.get("headrace.sdk.local")  # a backend this process opened already: share its store
    opened = local._backends.get((str(settings.home), settings.effective_db_url)) if local else None
    if opened is not None:
        return opened
    from headrace.wiring import open_store

    return StoreReader(open_store(settings))


class StoreReader:
    """The read side of ``sdk.local.LocalBackend`` over a bare metadata store."""

    is_local = True

    def __init__(self, store: Any):
        self.store = store

    def list_runs(self, experiment_name: str | None = None, limit: int = 100) -> list[Any]:
        runs: list[Any] = []
        cursor = None
        while len(runs) < limit:
            page, cursor = self.store.list_runs(experiment_name=experiment_name, limit=min(_PAGE, limit - len(runs)),
                                                cursor=cursor)
            runs.extend(page)
            if cursor is None:
                break
        return runs

    def get_run(self, run_id: str) -> Any:
        return self.store.get_run(run_id)

    def list_step_runs(self, run_id: str) -> list[Any]:
        return self.store.list_step_runs(run_id)

    def run_metrics(self, run_id: str) -> dict[str, Any]:
        from headrace.services.runs import metrics_dict

        return metrics_dict([m for m in self.store.list_metrics(run_id) if m.step_run_id is None])

    def list_experiments(self) -> list[Any]:
        return self.store.list_experiments()

    def count_runs(self, experiment_names: list[str]) -> dict[str, int]:
        return self.store.count_runs_by_experiment(experiment_names)
