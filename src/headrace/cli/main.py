"""``headrace`` entry point: sub-command groups, and one place that turns errors into exit codes."""

from __future__ import annotations

import sys
from typing import Annotated, NoReturn

import typer

from headrace.cli.common import HomeOpt, err_console
from headrace.cli.connections import connection_app
from headrace.cli.flows import flow_app
from headrace.cli.pipelines import endpoint_app, pipeline_app
from headrace.cli.runs import experiment_app, run_app
from headrace.cli.schedules import schedule_app
from headrace.cli.server import server
from headrace.cli.tokens import token_app
from headrace.errors import HeadraceError

# rich_markup_mode=None: plain help; Typer's rich help imports rich and markdown-it (~0.1 s per start).
app = typer.Typer(help="headrace: self-hosted ML pipelines.", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None)
app.add_typer(run_app, name="run")
app.add_typer(experiment_app, name="experiment")
app.add_typer(token_app, name="token")
app.command("server")(server)
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(endpoint_app, name="endpoint")
app.add_typer(schedule_app, name="schedule")
app.add_typer(flow_app, name="flow")
app.add_typer(connection_app, name="connection")

_verbose = False


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.")] = False):
    global _verbose
    _verbose = verbose
    from headrace.logs import configure

    configure(verbose)


@app.command()
def version() -> None:
    """Print the headrace version."""
    from headrace import __version__

    typer.echo(__version__)


@app.command()
def agent(
    home: HomeOpt = None,
    max_runs: Annotated[int, typer.Option(help="Runs executed at the same time.")] = 4,
) -> None:
    """Run an agent in the foreground: it claims queued runs of the workspace and executes them."""
    import signal
    import threading

    from headrace.cli.common import workspace
    from headrace.wiring import build_agent

    ws = workspace(home)
    if getattr(ws, "is_remote", False):
        from headrace.errors import ConfigError

        raise ConfigError("headrace agent serves a local home: run it on the server's machine with --home "
                          "(or HEADRACE_HOME), not against HEADRACE_URL")
    worker = build_agent(ws._backend.svc, max_concurrent_runs=max_runs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"agent {worker.agent_id} serving {ws.home} (Ctrl+C or SIGTERM to stop; "
                      "runs in progress go back to the queue)")
    worker.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    worker.stop(wait=True)


@app.command()
def scheduler(
    home: HomeOpt = None,
    db: Annotated[str | None, typer.Option("--db", envvar="HEADRACE_DB_URL", help="Metadata store URL.")] = None,
) -> None:
    """Run only the scheduler in the foreground: it fires the schedules of the home (or database) as they come due.

    Use it when the server runs with --no-scheduler, or without a server. Several schedulers on one
    database are safe: each schedule is evaluated by one at a time, and each fire runs once.
    """
    import signal
    import threading

    from headrace.config import load_settings
    from headrace.wiring import build_scheduler, build_services

    settings = load_settings(home=home, db_url=db)
    svc = build_services(settings)
    worker = build_scheduler(svc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"scheduler {worker.owner} serving {settings.home} (Ctrl+C or SIGTERM to stop)")
    worker.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        svc.store.close()
    err_console.print("scheduler stopped")


def main() -> None:
    """Console-script entry point: every failure exits non-zero, whatever the output mode.

    ``standalone_mode=False`` lets one place print errors; Typer then *returns* the code of a
    ``typer.Exit`` instead of exiting, so the code is passed on here.
    """
    try:
        code = app(standalone_mode=False)
    except (HeadraceError, OSError) as exc:  # OSError: a home that is a file, a full disk...
        _fail(exc)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except _usage_errors() as exc:  # bad option, missing argument, unparsable value (evaluated only then)
        exc.show()
        sys.exit(exc.exit_code)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)


def _fail(exc: Exception) -> NoReturn:
    if _verbose:
        raise exc
    from rich.markup import escape

    err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)  # one line
    sys.exit(1)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage error classes: Typer >= 0.26 carries its own copy of click, older ones use click."""
    found: list[type[Exception]] = []
    try:
        from typer._click.exceptions import ClickException as Vendored
        found.append(Vendored)
    except ImportError:
        pass
    try:
        from click import ClickException
        found.append(ClickException)
    except ImportError:
        pass
    return tuple(found)


if __name__ == "__main__":
    main()
