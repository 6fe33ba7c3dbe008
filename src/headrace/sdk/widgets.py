"""``RunDetails(run).show()`` (Azure ML's ``azureml.widgets`` name): watch a run's steps.

In Jupyter it displays an HTML table (steps, status, duration, a link to the web UI when a server
serves the workspace) that a background thread refreshes until the run ends; ``show()`` returns at
once, as the widget does. In a terminal it draws a progress table that refreshes until the run
ends, or once when it already has. It never raises: a problem is printed on one line instead.
The view is built by pure functions (``snapshot``, ``render_html``, ``render_table``) so it can be
tested without a notebook.
"""

from __future__ import annotations

import html
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from headrace import clock

REFRESH_SECONDS = 0.5


@dataclass(frozen=True)
class StepView:
    name: str
    status: str
    seconds: float | None
    reused: bool


@dataclass(frozen=True)
class RunView:
    """What the view shows of a run at one moment."""

    run_id: str
    experiment: str
    status: str
    seconds: float | None
    steps: list[StepView]
    url: str | None

    @property
    def done(self) -> bool:
        return self.status in ("Finished", "Completed", "Failed", "Canceled")


def _seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    return None if start is None else max(0.0, ((end or now) - start).total_seconds())


def snapshot(run: Any, now: datetime | None = None) -> RunView:
    """Read ``run`` (a ``PipelineRun``, a ``StepRun``, a ``ScriptRun`` or an interactive ``Run``) once."""
    now = now or clock.now()
    record = run._refresh()
    if hasattr(run, "_parent"):  # a step run: itself, on its pipeline run's page
        steps = [StepView(record.name, record.status.value, _seconds(record.started_at, record.ended_at, now),
                          record.reused_from is not None)]
        run_id = run.parent.id
    else:  # a pipeline run's steps, a script run's one step, none for an interactive run
        steps = [StepView(s.name, s.status.value, _seconds(s.started_at, s.ended_at, now), s.reused_from is not None)
                 for s in run._backend.list_step_runs(run.id)]
        run_id = run.id
    return RunView(run_id=run_id, experiment=run.experiment.name, status=record.status.value,
                   seconds=_seconds(record.started_at, record.ended_at, now), steps=steps, url=ui_url(run, run_id))


def ui_url(run: Any, run_id: str) -> str | None:
    """The web UI page of the run: on the workspace's server (remote), or on the server a local home
    names in its config.json (``server_url``, written by ``headrace server``); else None."""
    backend = run._backend
    base = getattr(backend, "url", None) if not backend.is_local else _configured_server(backend)
    return f"{base.rstrip('/')}/runs/{run_id}" if base else None


def _configured_server(backend: Any) -> str | None:
    import json

    try:
        return json.loads((backend.home / "config.json").read_text(encoding="utf-8")).get("server_url") or None
    except (OSError, ValueError, AttributeError):
        return None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{seconds:.1f}s"


_COLOURS = {"Finished": "#2e7d32", "Completed": "#2e7d32", "Failed": "#c62828", "Canceled": "#757575", "Running": "#1565c0",
            "Queued": "#6a1b9a", "NotStarted": "#757575"}


def render_html(view: RunView) -> str:
    """The Jupyter view: a heading, a link to the UI when there is one, and one row per step."""
    def cell(text: str) -> str:
        return f"<td style='padding:2px 10px;text-align:left'>{html.escape(text)}</td>"

    def status(value: str) -> str:
        colour = _COLOURS.get(value, "#000")
        return f"<td style='padding:2px 10px;color:{colour};font-weight:bold'>{html.escape(value)}</td>"

    rows = "".join(
        f"<tr>{cell(s.name)}{status(s.status)}{cell(duration(s.seconds))}{cell('reused' if s.reused else '')}</tr>"
        for s in view.steps)
    link = (f" &middot; <a href='{html.escape(view.url, quote=True)}' target='_blank'>open in headrace</a>"
            if view.url else "")
    return (f"<div class='headrace-run-details'><b>{html.escape(view.experiment)}</b> run "
            f"<code>{html.escape(view.run_id)}</code>: <span style='color:{_COLOURS.get(view.status, '#000')}'>"
            f"{html.escape(view.status)}</span> ({duration(view.seconds)}){link}"
            "<table><thead><tr><th>Step</th><th>Status</th><th>Duration</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def render_table(view: RunView) -> Any:
    """The terminal view: a heading line, a rich table of the steps, and the UI link when there is one."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table()
    for column in ("Step", "Status", "Duration", ""):
        table.add_column(column)
    for s in view.steps:
        colour = _COLOURS.get(s.status, "default")
        table.add_row(s.name, f"[{colour}]{s.status}[/]", duration(s.seconds), "reused" if s.reused else "")
    heading = Text(f"{view.experiment} run {view.run_id}: {view.status} ({duration(view.seconds)})", style="bold")
    return Group(heading, table, *([Text(view.url)] if view.url else []))


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


class RunDetails:
    """Azure ML's run widget.

    Example:
        >>> run = Experiment(ws, "exp").submit(pipeline)
        >>> RunDetails(run).show()   # a live table (notebook: HTML; terminal: until the run ends)
    """

    def __init__(self, run_instance: Any):
        self.run_instance = run_instance

    def get_widget_data(self, widget_settings: Any = None) -> dict[str, Any]:
        """The data the view shows, as a dict."""
        view = snapshot(self.run_instance)
        return {"run_id": view.run_id, "status": view.status, "duration_seconds": view.seconds, "url": view.url,
                "steps": [{"name": s.name, "status": s.status, "duration_seconds": s.seconds, "reused": s.reused}
                          for s in view.steps]}

    def show(self, render_lib: Any = None, widget_settings: Any = None) -> None:
        """Display the run's progress; never raises."""
        try:
            if _in_notebook():
                self._show_html()
            else:
                self._show_terminal()
        except KeyboardInterrupt:
            return
        except Exception as exc:  # a view must never break the user's script
            print(f"RunDetails: cannot show run {getattr(self.run_instance, 'id', '?')}: {exc}", file=sys.stderr)

    def _show_html(self) -> None:
        from IPython.display import HTML, display

        view = snapshot(self.run_instance)
        handle = display(HTML(render_html(view)), display_id=True)
        if view.done:
            return

        def refresh() -> None:
            stop = threading.Event()
            current = view
            while not current.done:
                stop.wait(REFRESH_SECONDS)
                try:
                    current = snapshot(self.run_instance)
                    handle.update(HTML(render_html(current)))
                except Exception:
                    return

        threading.Thread(target=refresh, name="headrace-run-details", daemon=True).start()

    def _show_terminal(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console()
        view = snapshot(self.run_instance)
        if view.done or not console.is_terminal:
            if not view.done:
                view = self._wait(view)
            console.print(render_table(view))
            return
        with Live(render_table(view), console=console, refresh_per_second=4) as live:
            while not view.done:
                view = self._wait(view)
                live.update(render_table(view))

    def _wait(self, view: RunView) -> RunView:
        """The next view after a short pause (the run's end when the output is not a terminal)."""
        stop = threading.Event()
        while True:
            stop.wait(REFRESH_SECONDS)
            fresh = snapshot(self.run_instance)
            if fresh.done or sys.stdout.isatty():
                return fresh
