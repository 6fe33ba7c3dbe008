"""``headrace schedule create|list|show|enable|disable|delete|runs``.

Schedules fire while a scheduler runs: ``headrace server`` includes one, ``headrace scheduler``
runs one alone. Every command works on the local home or a server (``HEADRACE_URL``), like the SDK.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

import typer

from headrace.cli.common import (
    HomeOpt,
    JsonOpt,
    console,
    duration,
    fmt_time,
    new_table,
    print_json,
    styled,
    workspace,
)
from headrace.cli.pipelines import ExperimentOpt, ParamOpt, parse_params
from headrace.errors import ScheduleError

schedule_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="Schedules: run a published pipeline on a recurrence, a cron or datastore changes.",
                           no_args_is_help=True)

_UNITS = {"m": "Minute", "min": "Minute", "h": "Hour", "d": "Day", "w": "Week"}
_STATUS_STYLE = {"Active": "green", "Disabled": "dim", "fired": "green", "skipped": "dim", "failed": "red"}


def _opt(help_: str, *names: str) -> Any:
    return typer.Option(*names, help=help_, show_default=False)


IdArg = Annotated[str, typer.Argument(help="The schedule id.")]


def parse_every(text: str) -> tuple[str, int]:
    """``"15m"`` -> ``("Minute", 15)``; units m, h, d, w.

    Raises:
        ScheduleError: not a number followed by a known unit (``field`` "every").
    """
    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ScheduleError(f"invalid value {text!r}: give a number and a unit m, h, d or w, e.g. 15m, 2h, 1d, 1w",
                            field="every")
    return _UNITS[m.group(2).lower()], int(m.group(1))


def _items(text: str | None, ints: bool) -> list[Any] | None:
    """``"9,17"`` -> ``[9, 17]`` (a value that is not a number is passed on, for the check to name it)."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    return [int(t) if ints and re.fullmatch(r"-?\d+", t) else t for t in items]


def _recurrence(every: str | None, frequency: str | None, interval: int | None, at: str | None, hours: str | None,
                minutes: str | None, week_days: str | None, month_days: str | None, time_zone: str | None,
                start: str | None, end: str | None, cron: str | None) -> Any:
    """The ``ScheduleRecurrence`` the time options describe, or None when none is given."""
    from headrace.core.recurrence import ScheduleRecurrence

    if every is not None:
        if frequency is not None or interval is not None:
            raise ScheduleError("give --every or --frequency/--interval, not both", field="every")
        frequency, interval = parse_every(every)
    given = (frequency, interval, at, hours, minutes, week_days, month_days, time_zone, start, end, cron)
    if all(v is None for v in given):
        return None
    if interval is None and frequency is not None:
        interval = 1
    return ScheduleRecurrence(frequency=frequency, interval=interval, start_time=start, time_zone=time_zone,
                              hours=_items(hours, True), minutes=_items(minutes, True),
                              week_days=_items(week_days, False), time_of_day=at, end_time=end,
                              month_days=_items(month_days, True), cron=cron)


def next_run_text(s: Any) -> str:
    """The next run time in the schedule's zone ("-" when disabled or ended)."""
    when = s.next_run_time
    if when is None:
        return "-"
    rec = s.recurrence
    return f"{when:%Y-%m-%d %H:%M} {rec.time_zone}" if rec is not None else fmt_time(when)


def _row(s: Any) -> dict[str, Any]:
    rec = s.recurrence
    watch = None
    if rec is None:
        watch = {"datastore": s.datastore_name, "path": s.path_on_datastore, "polling_interval": s.polling_interval,
                 "data_path_parameter_name": s.data_path_parameter_name, "recursive": s.recursive, "batch": s.batch}
    return {
        "id": s.id, "name": s.name, "status": s.status, "description": s.description, "pipeline_id": s.pipeline_id,
        "pipeline_endpoint_id": s.pipeline_endpoint_id, "experiment_name": s.experiment_name,
        "trigger": s.describe(), "recurrence": rec.to_dict() if rec is not None else None, "datastore": watch,
        "parameters": s.pipeline_parameters, "misfire": s.misfire, "misfire_cap": s.misfire_cap,
        "next_run_time": s.next_run_time, "last_fire_time": s.last_fire_time, "last_run_id": s.last_run_id,
    }


def _styled(value: str) -> str:
    style = _STATUS_STYLE.get(value, "")
    return f"[{style}]{value}[/{style}]" if style else value


def _get(home: Any, schedule_id: str) -> Any:
    from headrace.sdk.schedule import Schedule

    return Schedule.get(workspace(home), schedule_id)


@schedule_app.command("create")
def schedule_create(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    experiment: ExperimentOpt,
    pipeline_id: Annotated[str | None, _opt("The published pipeline to run.", "--pipeline-id")] = None,
    endpoint: Annotated[str | None, _opt("Or a pipeline endpoint (id or name): its default version at each fire.",
                                         "--endpoint")] = None,
    every: Annotated[str | None, _opt("Every N minutes/hours/days/weeks: 15m, 2h, 1d, 1w.", "--every")] = None,
    frequency: Annotated[str | None, _opt("Minute, Hour, Day, Week or Month.", "--frequency")] = None,
    interval: Annotated[int | None, _opt("Frequency units between runs (default 1).", "--interval")] = None,
    at: Annotated[str | None, _opt("Time of day HH:MM (Day, Week, Month).", "--at")] = None,
    hours: Annotated[str | None, _opt("Hours of the day, e.g. 9,17.", "--hours")] = None,
    minutes: Annotated[str | None, _opt("Minutes of the hour, e.g. 0,30.", "--minutes")] = None,
    week_days: Annotated[str | None, _opt("Week days, e.g. Monday,Wednesday (Week).", "--week-days")] = None,
    month_days: Annotated[str | None, _opt("Days of the month, e.g. 1,15 (Month).", "--month-days")] = None,
    time_zone: Annotated[str | None, _opt("IANA name or Windows id (default UTC).", "--time-zone")] = None,
    start: Annotated[str | None, _opt("First eligible time, ISO 8601 (a wall time in --time-zone).", "--start")] = None,
    end: Annotated[str | None, _opt("Last eligible time, ISO 8601.", "--end")] = None,
    cron: Annotated[str | None, _opt("A 5-field cron expression, e.g. '*/15 * * * *'.", "--cron")] = None,
    datastore: Annotated[str | None, _opt("Watch this datastore for added or changed files.", "--datastore")] = None,
    path: Annotated[str | None, _opt("The watched folder in the datastore (default: its root).", "--path")] = None,
    poll: Annotated[float | None, _opt("Minutes between polls (default 5).", "--poll")] = None,
    data_path_param: Annotated[str | None, _opt("DataPath parameter that receives each file.",
                                                "--data-path-param")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", help="Also watch sub-folders.")] = False,
    batch: Annotated[bool, typer.Option("--batch", help="One run per poll instead of one per file.")] = False,
    params: ParamOpt = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it inactive.")] = False,
    misfire: Annotated[str | None, _opt("Slots missed while no scheduler ran: latest (default), skip or all.",
                                        "--misfire")] = None,
    misfire_cap: Annotated[int | None, _opt("With --misfire all: at most this many catch-up runs.",
                                            "--misfire-cap")] = None,
    run_now: Annotated[bool, typer.Option("--run-now", help="Also run once right away.")] = False,
    description: Annotated[str | None, _opt("Description (also given to its runs).", "--description")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a schedule: --every/--frequency/--cron for a time schedule, or --datastore for a reactive one."""
    from headrace.cli.pipelines import _endpoint
    from headrace.sdk.schedule import Schedule

    if (pipeline_id is None) == (endpoint is None):
        raise ScheduleError("give exactly one of --pipeline-id and --endpoint", field="pipeline_id")
    recurrence = _recurrence(every, frequency, interval, at, hours, minutes, week_days, month_days, time_zone,
                             start, end, cron)
    options: dict[str, Any] = {
        "recurrence": recurrence, "description": description, "pipeline_parameters": parse_params(params),
        "path_on_datastore": path, "data_path_parameter_name": data_path_param, "misfire": misfire,
        "misfire_cap": misfire_cap, "status": "Disabled" if disabled else None, "run_on_create": run_now or None,
    }
    if datastore is not None:
        options.update(datastore=datastore, polling_interval=5 if poll is None else poll, recursive=recursive,
                       batch=batch)
    else:
        watch_only = (("--poll", "polling_interval", poll is not None), ("--recursive", "recursive", recursive),
                      ("--batch", "batch", batch))
        for flag, field, given in watch_only:
            if given:
                raise ScheduleError(f"{flag} is only for datastore schedules (with --datastore)", field=field)
    options = {k: v for k, v in options.items() if v is not None}
    ws = workspace(home)
    if endpoint is not None:
        s = Schedule.create_for_pipeline_endpoint(ws, name, _endpoint(ws, endpoint).id, experiment, **options)
    else:
        s = Schedule.create(ws, name, pipeline_id, experiment, **options)
    if json_:
        print_json(_row(s))
        return
    console.print(f"created schedule {s.name} ({s.id}): {s.describe()}; next run {next_run_text(s)}", soft_wrap=True)
    if run_now and (last := s.get_last_pipeline_run()) is not None:
        console.print(f"started run {last.id}")


@schedule_app.command("list")
def schedule_list(
    all_: Annotated[bool, typer.Option("--all", help="Include disabled schedules.")] = False,
    pipeline_id: Annotated[str | None, _opt("Only the schedules of this published pipeline (all of them).",
                                            "--pipeline-id")] = None,
    endpoint: Annotated[str | None, _opt("Only the schedules of this endpoint (id or name; all of them).",
                                         "--endpoint")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List schedules, newest first: id, name, status, trigger and next run time."""
    from headrace.cli.pipelines import _endpoint
    from headrace.sdk.schedule import Schedule

    ws = workspace(home)
    endpoint_id = _endpoint(ws, endpoint).id if endpoint is not None else None
    items = Schedule.list(ws, active_only=not all_, pipeline_id=pipeline_id, pipeline_endpoint_id=endpoint_id)
    if json_:
        print_json([_row(s) for s in items])
        return
    table = new_table(title="Schedules")
    table.add_column("Id", no_wrap=True, min_width=max((len(s.id) for s in items), default=2))
    for col in ("Name", "Status", "Trigger", "Next run"):
        table.add_column(col)
    for s in items:
        table.add_row(s.id, s.name, _styled(s.status), s.describe(), next_run_text(s))
    console.print(table)


@schedule_app.command("show")
def schedule_show(
    schedule_id: IdArg,
    ticks: Annotated[int, typer.Option("--ticks", help="How many recent evaluations to show.")] = 10,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show a schedule and its recent evaluations (fired, skipped or failed, and why)."""
    s = _get(home, schedule_id)
    recent = s.get_ticks(limit=ticks)
    if json_:
        print_json({**_row(s), "ticks": [asdict(t) for t in recent]})
        return
    target = f"pipeline {s.pipeline_id}" if s.pipeline_id else f"endpoint {s.pipeline_endpoint_id}"
    console.print(f"[bold]{s.name}[/bold]  {_styled(s.status)}  id {s.id}")
    console.print(f"runs {target} in experiment {s.experiment_name}", soft_wrap=True)
    console.print(f"trigger: {s.describe()}", soft_wrap=True)
    console.print(f"next run: {next_run_text(s)}   last run: {s.last_run_id or '-'}   misfire: {s.misfire}")
    if s.pipeline_parameters:
        console.print("parameters: " + ", ".join(f"{k}={v}" for k, v in s.pipeline_parameters.items()), soft_wrap=True)
    table = new_table(title="Recent evaluations")
    for col in ("Evaluated", "Outcome", "Slot", "Runs", "Reason"):
        table.add_column(col)
    for t in recent:
        table.add_row(fmt_time(t.evaluated_at), _styled(t.outcome.value), fmt_time(t.slot_time),
                      ", ".join(t.run_ids) or "-", t.reason)
    console.print(table)


def _set_status(schedule_id: str, enable: bool, home: Any, json_: bool) -> None:
    s = _get(home, schedule_id)
    s.enable() if enable else s.disable()
    if json_:
        print_json(_row(s))
    else:
        console.print(f"schedule {s.name} ({s.id}): {_styled(s.status)}; next run {next_run_text(s)}")


@schedule_app.command("enable")
def schedule_enable(schedule_id: IdArg, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Activate a schedule: it fires from now on (slots missed while disabled never run)."""
    _set_status(schedule_id, True, home, json_)


@schedule_app.command("disable")
def schedule_disable(schedule_id: IdArg, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Deactivate a schedule."""
    _set_status(schedule_id, False, home, json_)


@schedule_app.command("delete")
def schedule_delete(schedule_id: IdArg, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Delete a disabled schedule (disable it first); its runs stay."""
    s = _get(home, schedule_id)
    s.delete()
    if json_:
        print_json({"id": s.id, "deleted": True})
    else:
        console.print(f"deleted schedule {s.name} ({s.id})")


@schedule_app.command("runs")
def schedule_runs(
    schedule_id: IdArg,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The runs a schedule started, newest first."""
    ws = workspace(home)
    runs = ws._backend.schedule_runs(schedule_id, limit=limit)
    if json_:
        print_json([asdict(r) for r in runs])
        return
    table = new_table(title="Runs")
    table.add_column("Run id", no_wrap=True, min_width=max((len(r.id) for r in runs), default=6))
    for col in ("Experiment", "Status", "Created", "Duration", "Scheduled time"):
        table.add_column(col)
    for r in runs:
        table.add_row(r.id, r.experiment_name, styled(r.status.value), fmt_time(r.created_at),
                      duration(r.started_at, r.ended_at), r.tags.get("headrace.scheduled_time", "-"))
    console.print(table)
