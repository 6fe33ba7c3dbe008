"""Argument checks for `ScheduleRecurrence`: each normalises one argument or raises `ScheduleError`.

Every check is idempotent (a normalised value passes through unchanged), so `validate()` can rerun
them on the stored state. The messages say what is allowed, since they reach users verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from headrace.core._wallclock import check_cron, in_zone, to_instant
from headrace.core.timezones import TimeZone
from headrace.errors import ScheduleError


class _AzureString(StrEnum):
    """Prints as the plain string Azure ML keeps (`Hour`, `'Hour'`), compares equal to it."""

    def __repr__(self) -> str:
        return repr(self.value)


class Frequency(_AzureString):
    """The unit a recurrence counts in (Azure's `frequency` strings)."""

    MINUTE = "Minute"
    HOUR = "Hour"
    DAY = "Day"
    WEEK = "Week"
    MONTH = "Month"


class WeekDay(_AzureString):
    """A day of the week, as `week_days` takes it."""

    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"


WEEK_DAYS = tuple(day.value for day in WeekDay)
"""Week day names, Monday first (index = `date.weekday()`)."""

_FREQUENCIES = ", ".join(f.value for f in Frequency)
# time_of_day first: by the time this is checked it has already been turned into hours and minutes.
_EXCLUSIVE_WITH_CRON = ("frequency", "interval", "time_of_day", "hours", "minutes", "week_days", "month_days")
_WALL_CLOCK_TIMES = (Frequency.DAY, Frequency.WEEK, Frequency.MONTH)
_TIME_OF_DAY_RE = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def frequency(value: Any) -> Frequency:
    """Check `frequency`: one of the five names, any case; returns the enum member."""
    if isinstance(value, Frequency):
        return value
    if isinstance(value, str):
        for member in Frequency:
            if member.value.casefold() == value.strip().casefold():
                return member
    if value is None:
        raise ScheduleError(f"is required unless cron is given; one of {_FREQUENCIES}", field="frequency")
    raise ScheduleError(f"{value!r} is not a frequency; use one of {_FREQUENCIES}", field="frequency")


MAX_INTERVAL = 1_000_000  # a million minutes is about two years; beyond, datetimes overflow


def interval(value: Any) -> int:
    """Check `interval`: an int in 1..MAX_INTERVAL (bools refused)."""
    if value is None:
        raise ScheduleError("is required with frequency; give a whole number >= 1", field="interval")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INTERVAL:
        raise ScheduleError(f"{value!r} is not allowed; give a whole number from 1 to {MAX_INTERVAL}",
                            field="interval")
    return value


def int_list(value: Any, field: str, low: int, high: int) -> list[int] | None:
    """Check a list of ints in [low, high] (a single int is wrapped); sorted, deduplicated, [] → None."""
    if value is None:
        return None
    items = [value] if isinstance(value, int) else value
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ScheduleError(f"expected a list of whole numbers {low}-{high}, got {value!r}", field=field)
    items = list(items)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise ScheduleError(
                f"{item!r} is not allowed; each value must be a whole number {low}-{high}", field=field
            )
    return sorted(set(items)) or None


def week_days(value: Any) -> list[str] | None:
    """Check `week_days`: names Monday..Sunday, any case (a single name is wrapped); Monday-first order."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise ScheduleError(f"expected a list of day names, got {value!r}", field="week_days")
    indexes = set()
    folded = [day.casefold() for day in WEEK_DAYS]
    for item in items:
        name = item.value if isinstance(item, WeekDay) else item
        if not isinstance(name, str) or name.strip().casefold() not in folded:
            raise ScheduleError(f"{item!r} is not a week day; use {', '.join(WEEK_DAYS)}", field="week_days")
        indexes.add(folded.index(name.strip().casefold()))
    return [WEEK_DAYS[i] for i in sorted(indexes)] or None


def time_of_day(value: Any) -> tuple[int, int]:
    """Check `time_of_day` ("H:MM" or "HH:MM", 24-hour); returns (hour, minute)."""
    match = _TIME_OF_DAY_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(
            f"{value!r} is not allowed; use 'H:MM' or 'HH:MM' from 0:00 to 23:59", field="time_of_day"
        )
    return int(match[1]), int(match[2])


def moment(value: Any, zone: ZoneInfo, field: str) -> datetime | None:
    """Check `start_time`/`end_time`; returns local time in `zone` (fixed offset, see `_wallclock`).

    A naive value (datetime or ISO string without offset) is a wall time in `zone`, mapped with the
    DST rules of `to_instant`; an aware one is converted into `zone`.
    """
    if value is None:
        return None
    parsed = value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if not isinstance(parsed, datetime):
        raise ScheduleError(
            f"{value!r} is not a datetime; give a datetime or an ISO 8601 string such as '2026-01-31T09:00:00'",
            field=field,
        )
    return as_zone(parsed, zone)


def as_zone(value: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time in `zone` or any aware datetime, as local time in `zone` (fixed offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return to_instant(value.replace(tzinfo=None), zone)
    return in_zone(value, zone)


def aware(value: Any, field: str) -> datetime:
    """Check a timezone-aware datetime argument (`after`, `anchor`)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(
            f"{value!r} must be a timezone-aware datetime, e.g. datetime.now(timezone.utc)", field=field
        )
    return value


def cron(value: Any, given: dict[str, Any]) -> str:
    """Check `cron`: a 5-field expression, with none of the pattern arguments in `given` set (not None).

    Returns the expression with its whitespace normalised.
    """
    for name in _EXCLUSIVE_WITH_CRON:
        if given[name] is not None:
            raise ScheduleError(
                "cannot be combined with cron; put the timing in the cron expression, or drop cron",
                field=name,
            )
    if not isinstance(value, str):
        raise ScheduleError(f"expected a cron expression string, got {value!r}", field="cron")
    expression = " ".join(value.split())
    problem = check_cron(expression)
    if problem:
        raise ScheduleError(
            f"{value!r} {problem}; e.g. '*/15 * * * *' (every 15 minutes) or '30 2 * * 1-5'",
            field="cron",
        )
    return expression


def pattern(freq: Frequency, hours: Any, minutes: Any, week_days: Any, month_days: Any,
            from_time_of_day: bool) -> None:
    """Check that the pattern arguments given suit the frequency (`from_time_of_day`: hours and minutes
    came from `time_of_day`, which the error then names)."""
    if week_days is not None and freq is not Frequency.WEEK:
        raise ScheduleError(f"is only allowed with frequency Week, not {freq.value}", field="week_days")
    if month_days is not None and freq is not Frequency.MONTH:
        raise ScheduleError(f"is only allowed with frequency Month, not {freq.value}", field="month_days")
    if (hours is not None or minutes is not None) and freq not in _WALL_CLOCK_TIMES:
        field = "time_of_day" if from_time_of_day else ("hours" if hours is not None else "minutes")
        raise ScheduleError(
            f"is only allowed with frequency Day, Week or Month, not {freq.value}", field=field
        )


def zone_name(given: Any, zone: ZoneInfo) -> str:
    """The zone as the caller named it: a `TimeZone` member's value, a stripped name, else the IANA key."""
    if isinstance(given, TimeZone):
        return given.value
    if isinstance(given, str) and given.strip():
        return given.strip()
    return str(zone.key)
