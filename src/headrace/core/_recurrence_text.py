"""`ScheduleRecurrence`'s outside forms: the English summary and the Azure v1 REST ("wire") shape."""

from __future__ import annotations

from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from headrace.core._recurrence_fields import WEEK_DAYS, Frequency
from headrace.core._wallclock import to_instant
from headrace.core.timezones import wire_zone_name
from headrace.errors import ScheduleError

if TYPE_CHECKING:
    from headrace.core.recurrence import ScheduleRecurrence

# The v1 service may answer with enum ordinals instead of names (service_caller_base.py).
_WIRE_FREQUENCIES = {"0": "Month", "1": "Week", "2": "Day", "3": "Hour", "4": "Minute"}
_WIRE_KEYS = {
    "Frequency": "frequency", "Interval": "interval", "StartTime": "start_time", "EndTime": "end_time",
    "TimeZone": "time_zone", "Schedule": "schedule", "Cron": "cron",
}  # fmt: skip
_WIRE_SCHEDULE_KEYS = {
    "Hours": "hours",
    "Minutes": "minutes",
    "WeekDays": "week_days",
    "MonthDays": "month_days",
}
_MAX_LISTED_TIMES = 6
_DICT_KEYS = (
    "frequency", "interval", "start_time", "end_time", "time_zone",
    "hours", "minutes", "week_days", "month_days", "cron",
)  # fmt: skip


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _clock(value: time | datetime) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _times_text(r: ScheduleRecurrence, anchor: datetime | None) -> str:
    hours, minutes = r.hours, r.minutes
    if hours is None and minutes is None:
        return _clock(anchor) if anchor else "the time of day it was created"
    if anchor is not None:
        hours = hours or [anchor.hour]
        minutes = minutes or [anchor.minute]
    hh = [f"{h:02d}" for h in hours or []]
    mm = [f"{m:02d}" for m in minutes or []]
    if not hh:
        return f"minute {_join(mm)} of the hour it was created"
    if not mm:
        return f"hour {_join(hh)}, at the minute it was created"
    if len(hh) * len(mm) <= _MAX_LISTED_TIMES:
        return _join([f"{h}:{m}" for h in hh for m in mm])
    return f"minute {_join(mm)} of hour {_join(hh)}"


def describe(r: ScheduleRecurrence) -> str:
    """Plain-English summary of a recurrence (see `ScheduleRecurrence.describe`)."""
    start, end = r.start_time, r.end_time
    if r.cron is not None:
        text = f"Cron '{r.cron}'"
    else:
        assert r.frequency is not None and r.interval is not None
        unit = r.frequency.value.lower()
        text = f"Every {unit}" if r.interval == 1 else f"Every {r.interval} {unit}s"
        if r.frequency is Frequency.WEEK:
            days = r.week_days or ([WEEK_DAYS[start.weekday()]] if start else ["the weekday it was created"])
            text += f" on {_join(days)}"
        elif r.frequency is Frequency.MONTH:
            month_days = r.month_days or ([start.day] if start else None)
            text += (
                f" on day {_join([str(d) for d in month_days])}"
                if month_days
                else " on the day it was created"
            )
        if r.frequency in (Frequency.DAY, Frequency.WEEK, Frequency.MONTH):
            text += f" at {_times_text(r, start)}"
    if start is not None:
        text += f" from {start:%Y-%m-%d} {_clock(start)}"
    if end is not None:
        text += f" until {end:%Y-%m-%d} {_clock(end)}"
    # Minute/Hour count elapsed time: the zone only matters for reading a start or end time.
    if r.frequency not in (Frequency.MINUTE, Frequency.HOUR) or start or end:
        text += f", {r.time_zone}"
    return text


def _wire_time(value: datetime | None, zone: ZoneInfo) -> str | None:
    # v1 sends naive local wall times; keep the offset only when the naive form would be read back
    # as another instant (the second pass through a fall-back hour).
    if value is None:
        return None
    naive = value.replace(tzinfo=None, fold=0)
    if to_instant(naive, zone) != value:
        return value.isoformat()
    return naive.isoformat()


def to_wire(r: ScheduleRecurrence) -> dict[str, Any]:
    """The Azure v1 REST shape of a recurrence (see `ScheduleRecurrence.to_wire`)."""
    pattern = (r.hours, r.minutes, r.week_days, r.month_days)
    schedule = None
    if any(v is not None for v in pattern):
        schedule = dict(zip(("Hours", "Minutes", "WeekDays", "MonthDays"), pattern, strict=True))
    return {
        "Frequency": None if r.frequency is None else r.frequency.value,
        "Interval": r.interval,
        "StartTime": _wire_time(r.start_time, r.zone),
        "EndTime": _wire_time(r.end_time, r.zone),
        "TimeZone": wire_zone_name(r.zone, r.time_zone_name),
        "Schedule": schedule,
        "Cron": r.cron,
    }


def _fold_keys(data: Any, names: dict[str, str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ScheduleError(f"expected a JSON object, got {data!r}", field=what)
    folded = {wire.casefold(): name for wire, name in names.items()}
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = folded.get(str(key).casefold())
        if name is None:
            raise ScheduleError(
                f"unknown key in {what}; expected {', '.join(names)} (any case)", field=str(key)
            )
        out[name] = value
    return out


def _ordinal(value: Any, names: dict[str, str]) -> Any:
    key = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return names.get(key, value) if isinstance(key, str) else value


def from_wire(data: Any) -> dict[str, Any]:
    """Constructor arguments from the Azure v1 REST shape (keys any case; enum ordinals accepted)."""
    kwargs = _fold_keys(data, _WIRE_KEYS, "recurrence")
    schedule = kwargs.pop("schedule", None)
    if "frequency" in kwargs:
        kwargs["frequency"] = _ordinal(kwargs["frequency"], _WIRE_FREQUENCIES)
    if schedule is not None:
        kwargs.update(_fold_keys(schedule, _WIRE_SCHEDULE_KEYS, "Schedule"))
        days = kwargs.get("week_days")
        if isinstance(days, list):
            kwargs["week_days"] = [_ordinal(d, {str(i): n for i, n in enumerate(WEEK_DAYS)}) for d in days]
    return kwargs


def to_dict(r: ScheduleRecurrence) -> dict[str, Any]:
    """The stored JSON form of a recurrence (see `ScheduleRecurrence.to_dict`)."""
    return {
        "frequency": None if r.frequency is None else r.frequency.value,
        "interval": r.interval,
        "start_time": None if r.start_time is None else r.start_time.isoformat(),
        "end_time": None if r.end_time is None else r.end_time.isoformat(),
        "time_zone": r.time_zone,
        "hours": r.hours,
        "minutes": r.minutes,
        "week_days": r.week_days,
        "month_days": r.month_days,
        "cron": r.cron,
    }


def from_dict(data: Any) -> dict[str, Any]:
    """Constructor arguments from the stored JSON form; unknown keys are refused, not ignored."""
    if not isinstance(data, dict):
        raise ScheduleError(f"expected a JSON object, got {data!r}", field="recurrence")
    known = (*_DICT_KEYS, "time_of_day")
    for key in data:
        if key not in known:
            raise ScheduleError(
                f"unknown recurrence key; expected some of {', '.join(known)}", field=str(key)
            )
    return dict(data)
