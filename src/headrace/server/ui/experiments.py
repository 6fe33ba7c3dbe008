"""UI pages: the experiments list and one experiment's runs (read-only; any signed-in role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from headrace import clock
from headrace.errors import NotFoundError
from headrace.server.ui import experiment_data as data
from headrace.server.ui.common import not_found, page, signed_in
from headrace.storage.records import RunStatus

router = APIRouter(include_in_schema=False)


def _number(value: str) -> int:
    try:
        return max(int(value), 1)
    except ValueError:
        return 1


@router.get("/experiments")
def experiments_page(request: Request, q: str = "", page_no: Annotated[str, Query(alias="page")] = "1") -> Response:
    """Experiments by name, with their number of runs and last run."""
    who = signed_in(request)
    listing = data.experiment_list(request.app.state.services, query=q, page=_number(page_no))
    return page(request, "experiments.html", who, active="experiments", listing=listing, q=q)


@router.get("/experiments/{name:path}")
def experiment_page(request: Request, name: str, status: str = "all", before: str = "") -> Response:
    """An experiment's runs, newest first, 50 per page from cursor ``before``, filtered by status."""
    who = signed_in(request)
    wanted = data.parse_status(status)
    context = {"active": "experiments", "ename": name, "status": wanted.value if wanted else "all",
               "statuses": [s.value for s in RunStatus], "before": before, "now": clock.now()}
    try:
        found = data.experiment_runs(request.app.state.services, name, status=wanted, before=before)
    except NotFoundError:
        return not_found(request, who, f"No experiment named {name!r}.")
    except ValueError:
        return page(request, "experiment.html", who, status_code=400, found=None,
                    error="That page link is not valid (it may come from another server); start from the newest runs.",
                    **context)
    return page(request, "experiment.html", who, found=found, error="", **context)
