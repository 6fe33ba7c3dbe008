"""UI page: several runs side by side (``/compare?run=<id>&run=<id>...``; read-only, any signed-in role).

Runs are picked with the check boxes of an experiment's page (a plain GET form: no script needed), or
linked from elsewhere with their ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from headrace.server.ui import compare_data as data
from headrace.server.ui.common import page, signed_in
from headrace.server.ui.overlay_chart import overlay_plot, style

router = APIRouter(include_in_schema=False)


@router.get("/compare")
def compare_page(request: Request, run: Annotated[list[str] | None, Query(max_length=data.MAX_RUNS * 4)] = None,
                 back: str = "") -> Response:
    """Parameters and metrics of the runs ``run`` side by side, and each metric's series overlaid on one chart."""
    who = signed_in(request)
    found = data.compare(request.app.state.services, run or [])
    labels = [r.label for r in found.runs]
    charts = [(name, overlay_plot([(r.label, r.series.get(name, [])) for r in found.runs], title=name))
              for name in found.charted]
    styles = [style(i) for i in range(len(found.runs))]
    back = back if back.startswith("/") and not back.startswith("//") else ""
    status = 200 if found.runs or not run else 404
    return page(request, "compare.html", who, status_code=status, active="experiments", found=found, labels=labels,
                charts=charts, styles=styles, shown=data.shown, back=back)
