"""``headrace`` entry point: sub-command groups, and one place that turns errors into exit codes."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from headrace.cli.common import HomeOpt, err_console
from headrace.cli.server import server
from headrace.errors import HeadraceError

# Sub-command groups by name: (module, Typer attribute, help). A group's module is imported only when
# the group runs (or its own help is asked for): building every command costs start-up time.
LAZY_GROUPS = {
    "run": ("headrace.cli.runs", "run_app", "Inspect and control pipeline runs."),
    "experiment": ("headrace.cli.runs", "experiment_app", "List experiments."),
    "token": ("headrace.cli.tokens", "token_app", "API tokens (reader, submitter, admin) of the local home."),
    "pipeline": ("headrace.cli.pipelines", "pipeline_app", "Published pipelines: list, show, submit, enable, disable."),
    "endpoint": ("headrace.cli.pipelines", "endpoint_app", "Versioned pipeline endpoints."),
    "schedule": ("headrace.cli.schedules", "schedule_app",
                 "Schedules: run a published pipeline on a recurrence, a cron or datastore changes."),
    "flow": ("headrace.cli.flows", "flow_app",
             "Prompt flows: test, serve, publish, batch-run and evaluate flow folders; import prompt flow DAGs."),
    "connection": ("headrace.cli.connections", "connection_app",
                   "LLM connections (OpenAI-compatible APIs) used by prompt flows."),
    "compute": ("headrace.cli.compute", "compute_app", "Compute targets: names steps give as compute_target."),
    "datastore": ("headrace.cli.data", "datastore_app", "Datastores: local folders, Azure Blob, ADLS Gen2 and S3."),
    "dataset": ("headrace.cli.data", "dataset_app", "Registered datasets and their versions."),
    "webhook": ("headrace.cli.events", "webhook_app", "Webhook subscriptions: signed event messages and notifications."),
    "trigger": ("headrace.cli.events", "trigger_app", "Event triggers: start a published pipeline when an event arrives."),
    "environment": ("headrace.cli.environments", "environment_app",
                    "Python environments steps run in: registered versions, builds."),
    "model": ("headrace.cli.models", "model_app", "Registered models: versions, files, stages and aliases."),
}


class _LazyGroup(TyperGroup):
    """The root group: the commands defined here, plus ``LAZY_GROUPS`` loaded on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_GROUPS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in LAZY_GROUPS:
            module, attribute, _ = LAZY_GROUPS[cmd_name]
            group = typer.main.get_group(getattr(importlib.import_module(module), attribute))
            group.name = cmd_name
            self.commands[cmd_name] = group
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The root help lists the lazy groups by their help text, without loading them."""
        with self._placeholders():
            super().format_commands(ctx, formatter)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in LAZY_GROUPS:
            self.get_command(ctx, args[0])
        with self._placeholders():  # "Did you mean 'run'?" knows the lazy groups too
            return super().resolve_command(ctx, args)

    @contextlib.contextmanager
    def _placeholders(self) -> Iterator[None]:
        """Stand-ins for the groups not loaded yet (name and help only), removed afterwards."""
        saved = dict(self.commands)
        for name, (_, _, help_text) in LAZY_GROUPS.items():
            self.commands.setdefault(name, TyperCommand(name=name, help=help_text))
        try:
            yield
        finally:
            self.commands.clear()
            self.commands.update(saved)


# rich_markup_mode=None: plain help; Typer's rich help imports rich and markdown-it (~0.1 s per start).
app = typer.Typer(help="headrace: self-hosted ML pipelines.", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None, cls=_LazyGroup)
app.command("server")(server)

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
    listen: Annotated[bool, typer.Option(
        help="Serve the home's scripts on a local socket (<home>/agent.sock): their Workspace(home) hands runs "
        "to this agent instead of starting one, and starts without opening the store.")] = True,
    idle_exit: Annotated[float, typer.Option(
        min=0, help="Exit after this many seconds with no run in progress and no call from a script (0: never); "
        "how an agent started by HEADRACE_AGENT__RESIDENT=auto ends.")] = 0,
) -> None:
    """Run an agent in the foreground: it claims queued runs of the workspace and executes them."""
    import signal
    import threading

    from headrace.cli.common import workspace
    from headrace.config import load_settings
    from headrace.services.resident import ResidentListener
    from headrace.wiring import build_agent

    os.environ["HEADRACE_RESIDENT"] = "0"  # this process opens the home itself, whoever listens already
    ws = workspace(home)
    if getattr(ws, "is_remote", False):
        from headrace.errors import ConfigError

        raise ConfigError("headrace agent serves a local home: run it on the server's machine with --home "
                          "(or HEADRACE_HOME), not against HEADRACE_URL")
    os.environ.pop("HEADRACE_RESIDENT")  # steps' own workspaces may use it
    svc = ws._backend.svc
    worker = build_agent(svc, max_concurrent_runs=max_runs)
    settings = load_settings(home=ws.home)
    listener = ResidentListener(svc, settings.db_url, settings.effective_db_url, worker) if listen else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    serving = listener is not None and listener.start()
    socket_note = f"; scripts of the home hand it their runs at {listener.path}" if serving else ""
    err_console.print(f"agent {worker.agent_id} serving {ws.home} (Ctrl+C or SIGTERM to stop; "
                      f"runs in progress go back to the queue){socket_note}")
    try:
        _serve_until(stop, worker, listener if serving else None, idle_exit)
    except KeyboardInterrupt:
        pass
    if listener is not None:
        listener.stop()
    worker.stop(wait=True)


def _serve_until(stop: Any, worker: Any, listener: Any, idle_exit: float) -> None:
    """Until ``stop`` is set or, with ``idle_exit``, the agent has had nothing to do for that long."""
    import time

    if not idle_exit:
        stop.wait()
        return
    idle_since = time.monotonic()
    while not stop.wait(min(1.0, idle_exit)):
        busy = worker.busy or (listener is not None and listener.idle_seconds() < idle_exit)
        now = time.monotonic()
        if busy:
            idle_since = now
        elif now - idle_since >= idle_exit:
            err_console.print(f"agent {worker.agent_id}: nothing to do for {idle_exit:g} s: exiting")
            return


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
    from headrace.wiring import build_dispatcher, build_scheduler, build_services

    settings = load_settings(home=home, db_url=db)
    svc = build_services(settings)
    worker = build_scheduler(svc)
    dispatcher = build_dispatcher(svc)  # webhooks and event triggers go with the schedules
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err_console.print(f"scheduler {worker.owner} serving {settings.home} (Ctrl+C or SIGTERM to stop)")
    worker.start()
    dispatcher.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        dispatcher.stop()
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
