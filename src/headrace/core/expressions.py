"""Fire-time parameter expressions: schedule parameter values such as `@trigger().scheduledTime`.

A parameter value that is a string starting with "@" is an expression, evaluated when the schedule
fires; "@@…" stands for the literal string "@…"; anything else is passed through unchanged.

Grammar: `@` then one term; a term is a function call `name(arg, …)` optionally followed by
`.property`, a string literal in single quotes (`''` inside is a quote), or an integer (may be
negative). Names are case-sensitive, as in Azure.

Functions (timestamps are ISO 8601 strings; `fmt` is a .NET format, default "o", which prints 7
fractional digits and "Z" for UTC, like .NET: `2026-03-29T01:00:00.0000000Z`):

- `trigger().scheduledTime`, `trigger().startTime`: the slot the run is for, and when it fired (UTC).
- `runId()`, `createdBy()`: the triggered run's id, and what created it ("schedule").
- `utcNow([fmt])`: the current time (headrace's clock).
- `formatDateTime(ts[, fmt])`.
- `addDays|addHours|addMinutes|addSeconds(ts, n[, fmt])`.
- `addToTime|subtractFromTime(ts, n, unit[, fmt])`, unit Second, Minute, Hour, Day, Week, Month, Year.
- `startOfDay|startOfHour|startOfMonth(ts[, fmt])`.
- `convertFromUtc(ts, zone[, fmt])`, `convertToUtc(ts, zone[, fmt])`,
  `convertTimeZone(ts, from_zone, to_zone[, fmt])`: zones as in `resolve_zone` (Windows ids or IANA).
  A converted local time has no offset, as in .NET.
- `dayOfMonth(ts)`, `dayOfWeek(ts)` (Sunday = 0), `dayOfYear(ts)`: integers.
- `triggerBody()`: the event an event trigger fired on (its JSON body; for Event Grid, each event of
  the array), with any `.field.path` after it: `@triggerBody().data.url`. A field the event lacks
  raises `EventError` naming it. Only event triggers have a body.

Unlike Azure, which silently kept an expression it could not evaluate as a literal string, an
unknown function or malformed expression raises `ScheduleError`: at schedule creation through
`validate_expression`, and at fire time from `evaluate`. String interpolation (`"a-@{…}"`) is not
supported.

Example:
    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)
    >>> ctx = TriggerContext(scheduled_time=t, start_time=t, run_id="r1")
    >>> evaluate("@formatDateTime(addDays(trigger().scheduledTime, -1), 'yyyy-MM-dd')", ctx)
    '2026-03-28'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from headrace import clock
from headrace.core._dotnet_format import FormatError, format_datetime
from headrace.core._expression_parser import Node, Parser, Problem
from headrace.core._recurrence_fields import as_zone
from headrace.core.timezones import resolve_zone
from headrace.errors import EventError, ScheduleError

__all__ = ["TriggerContext", "evaluate", "is_expression", "validate_expression"]


@dataclass(frozen=True)
class TriggerContext:
    """What an expression may read about the firing.

    Attributes:
        scheduled_time: the slot the run is for (aware; naive is read as UTC).
        start_time: when the trigger actually fired.
        run_id: the id of the run being created.
        created_by: what created the run.
        body: the event an event trigger fired on (None for schedules).
    """

    scheduled_time: datetime
    start_time: datetime
    run_id: str
    created_by: str = "schedule"
    body: Any = None


# -- functions --------------------------------------------------------------------------------

_UNITS = {
    "Second": relativedelta(seconds=1), "Minute": relativedelta(minutes=1), "Hour": relativedelta(hours=1),
    "Day": relativedelta(days=1), "Week": relativedelta(weeks=1), "Month": relativedelta(months=1),
    "Year": relativedelta(years=1),
}  # fmt: skip


def _ts(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not an ISO 8601 timestamp")


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not an integer")
    return value


def _unit(value: Any) -> relativedelta:
    if value not in _UNITS:
        raise ValueError(f"{value!r} is not a time unit; use one of {', '.join(_UNITS)}")
    return _UNITS[value]


def _out(value: datetime, fmt: Any = "o") -> str:
    if not isinstance(fmt, str):
        raise ValueError(f"format {fmt!r} must be a string")
    return format_datetime(value, fmt)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _zone(value: Any) -> Any:
    return resolve_zone(value, field="zone")


def _local(value: datetime, zone: Any) -> datetime:
    # A converted local time is .NET's "unspecified" kind: no offset printed.
    return _utc(value).astimezone(_zone(zone)).replace(tzinfo=None)


def _add(unit: timedelta) -> Callable[..., str]:
    return lambda ctx, ts, n, fmt="o": _out(_ts(ts) + unit * _int(n), fmt)


def _body(ctx: TriggerContext) -> Any:
    if ctx.body is None:
        raise ValueError("only an event trigger has a body; a schedule's parameters cannot read triggerBody()")
    return ctx.body


def _trigger(ctx: TriggerContext) -> dict[str, str]:
    return {"scheduledTime": _out(_utc(ctx.scheduled_time)), "startTime": _out(_utc(ctx.start_time))}


# name -> (implementation taking ctx then the arguments, minimum arity, maximum arity)
_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "trigger": (_trigger, 0, 0),
    "triggerBody": (_body, 0, 0),
    "runId": (lambda ctx: ctx.run_id, 0, 0),
    "createdBy": (lambda ctx: ctx.created_by, 0, 0),
    "utcNow": (lambda ctx, fmt="o": _out(_utc(clock.now()), fmt), 0, 1),
    "formatDateTime": (lambda ctx, ts, fmt="o": _out(_ts(ts), fmt), 1, 2),
    "addDays": (_add(timedelta(days=1)), 2, 3),
    "addHours": (_add(timedelta(hours=1)), 2, 3),
    "addMinutes": (_add(timedelta(minutes=1)), 2, 3),
    "addSeconds": (_add(timedelta(seconds=1)), 2, 3),
    "addToTime": (lambda ctx, ts, n, unit, fmt="o": _out(_ts(ts) + _unit(unit) * _int(n), fmt), 3, 4),
    "subtractFromTime": (lambda ctx, ts, n, unit, fmt="o": _out(_ts(ts) - _unit(unit) * _int(n), fmt), 3, 4),
    "startOfDay": (
        lambda ctx, ts, fmt="o": _out(_ts(ts).replace(hour=0, minute=0, second=0, microsecond=0), fmt),
        1,
        2,
    ),
    "startOfHour": (
        lambda ctx, ts, fmt="o": _out(_ts(ts).replace(minute=0, second=0, microsecond=0), fmt),
        1,
        2,
    ),
    "startOfMonth": (
        lambda ctx, ts, fmt="o": _out(_ts(ts).replace(day=1, hour=0, minute=0, second=0, microsecond=0), fmt),
        1,
        2,
    ),  # fmt: skip
    "convertFromUtc": (lambda ctx, ts, zone, fmt="o": _out(_local(_ts(ts), zone), fmt), 2, 3),
    "convertToUtc": (
        lambda ctx, ts, zone, fmt="o": _out(as_zone(_ts(ts), _zone(zone)).astimezone(UTC), fmt),
        2,
        3,
    ),  # fmt: skip
    "convertTimeZone": (
        lambda ctx, ts, src, dst, fmt="o": _out(_local(as_zone(_ts(ts), _zone(src)), dst), fmt),
        3,
        4,
    ),  # fmt: skip
    "dayOfMonth": (lambda ctx, ts: _ts(ts).day, 1, 1),
    "dayOfWeek": (lambda ctx, ts: (_ts(ts).weekday() + 1) % 7, 1, 1),  # .NET DayOfWeek: Sunday = 0
    "dayOfYear": (lambda ctx, ts: _ts(ts).timetuple().tm_yday, 1, 1),
}
_PROPERTIES = {"trigger": ("scheduledTime", "startTime")}
_OPEN_PROPERTIES = {"triggerBody"}  # any field path: the event's shape is the sender's
_HAS_FORMAT = set(_FUNCTIONS) - {"trigger", "triggerBody", "runId", "createdBy", "dayOfMonth", "dayOfWeek", "dayOfYear"}
_ZONE_ARGS = {"convertFromUtc": (1,), "convertToUtc": (1,), "convertTimeZone": (1, 2)}
_SAMPLE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _function(name: str, nargs: int, pos: int) -> Callable[..., Any]:
    if name not in _FUNCTIONS:
        close = [f for f in _FUNCTIONS if f.casefold() == name.casefold()] or difflib.get_close_matches(
            name, _FUNCTIONS, n=1
        )
        hint = f"; did you mean {close[0]!r}?" if close else f"; supported: {', '.join(_FUNCTIONS)}"
        raise Problem(f"unknown function {name!r}{hint}", pos)
    impl, low, high = _FUNCTIONS[name]
    if not low <= nargs <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise Problem(f"{name}() takes {expected} argument(s), got {nargs}", pos)
    return impl


def _check(node: Node) -> None:
    """Static checks: function names, arity, property names."""
    if node[0] == "call":
        name, args = node[1], node[2]
        _function(name, len(args), node[3])
        for arg in args:
            _check(arg)
        # Literal formats and zones are checked now rather than at the first firing.
        high = _FUNCTIONS[name][2]
        literal = {i: a[1] for i, a in enumerate(args) if a[0] == "lit" and isinstance(a[1], str)}
        try:
            if name in _HAS_FORMAT and high - 1 in literal:
                format_datetime(_SAMPLE, literal[high - 1])
            for i in _ZONE_ARGS.get(name, ()):
                if i in literal:
                    _zone(literal[i])
        except (FormatError, ScheduleError) as exc:
            raise Problem(f"{name}(): {exc}", node[3]) from exc
    elif node[0] == "prop":
        base, prop, pos = node[1], node[2], node[3]
        _check(base)
        if _root(base) in _OPEN_PROPERTIES:
            return
        allowed = _PROPERTIES.get(base[1], ()) if base[0] == "call" else ()
        if prop not in allowed:
            owner = f"{base[1]}()" if base[0] == "call" else "the value"
            choices = f"; available: {', '.join(allowed)}" if allowed else ""
            raise Problem(f"{owner} has no property {prop!r}{choices}", pos)


def _root(node: Node) -> str | None:
    """The function a property chain starts from."""
    while node[0] == "prop":
        node = node[1]
    return node[1] if node[0] == "call" else None


def _path(node: Node) -> str:
    parts = []
    while node[0] == "prop":
        parts.append(node[2])
        node = node[1]
    return ".".join([f"{node[1]}()", *reversed(parts)])


def _eval(node: Node, ctx: TriggerContext) -> Any:
    if node[0] == "lit":
        return node[1]
    if node[0] == "prop":
        base = _eval(node[1], ctx)
        if _root(node) in _OPEN_PROPERTIES:
            if isinstance(base, dict) and node[2] in base:
                return base[node[2]]
            field = _path(node).removeprefix("triggerBody().")
            raise EventError(f"the event has no field {field!r}, which the trigger's mapping reads "
                             f"(@{_path(node)})", field=field)
        return base[node[2]]
    name, args, pos = node[1], node[2], node[3]
    impl = _function(name, len(args), pos)
    values = [_eval(arg, ctx) for arg in args]
    try:
        return impl(ctx, *values)
    except (ValueError, OverflowError, ScheduleError) as exc:  # FormatError is a ValueError
        reason = exc.args[0] if isinstance(exc, ScheduleError | FormatError) else exc
        raise Problem(f"{name}(): {reason}", pos) from exc


def is_expression(value: Any) -> bool:
    """True when `value` is a string evaluated at fire time (starts with "@" but not "@@")."""
    return isinstance(value, str) and value.startswith("@") and not value.startswith("@@")


def _parse(value: str, name: str | None) -> Node:
    try:
        node = Parser(value[1:], 1).parse()
        _check(node)
    except Problem as exc:
        raise ScheduleError(f"{value!r} at position {exc.pos}: {exc}", field=name) from None
    return node


def validate_expression(value: Any, name: str | None = None) -> None:
    """Check an expression's syntax, function names, arity and properties, without evaluating it.

    Args:
        value: a parameter value; non-expressions are accepted as they are.
        name: the parameter name, reported as the error's `field`.

    Raises:
        ScheduleError: the expression is malformed or uses an unknown function or property.
    """
    if is_expression(value):
        _parse(value, name)


def evaluate(value: Any, ctx: TriggerContext, name: str | None = None) -> Any:
    """Evaluate a parameter value at fire time.

    Args:
        value: the value as stored on the schedule.
        ctx: what the firing knows (scheduled time, run id, ...).
        name: the parameter name, reported as the error's `field`.

    Returns:
        The value unchanged unless it is a string starting with "@": then "@@x" gives "@x", and
        an expression gives its result (a string, or an int for dayOfMonth/dayOfWeek/dayOfYear).

    Raises:
        ScheduleError: the expression is malformed, or a function failed (bad timestamp, format...).
    """
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    if value.startswith("@@"):
        return value[1:]
    node = _parse(value, name)
    try:
        return _eval(node, ctx)
    except Problem as exc:
        raise ScheduleError(f"{value!r} at position {exc.pos}: {exc}", field=name) from None
