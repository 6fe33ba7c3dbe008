"""Slot arithmetic behind `ScheduleRecurrence.next_runs`: wall times to instants, and slot streams.

Every datetime leaving this module is local time in the schedule's zone with a *fixed-offset*
tzinfo (`in_zone`). Python compares and subtracts two datetimes that share one `ZoneInfo` by wall
time, ignoring `fold`, and never finds a datetime inside a repeated hour equal to one in another
zone (PEP 495); across a fall-back night both would silently misorder or drop slots. A fixed offset
keeps the local wall time and offset while making `==`, `<` and `-` exact.

Every generator here yields aware instants in non-decreasing order, starting early enough that no
slot at or after `lower` is missed (it may yield a few earlier ones: the caller filters, bounds by
end time and drops repeats). None of them walks slot by slot from the anchor: the first period is
found by arithmetic, so a schedule anchored years ago costs the same as a new one.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

MONTH_SEARCH_LIMIT = 4800
"""Months (400 years, one full Gregorian cycle) a Month schedule may go without a slot before the
search gives up: e.g. day 30 every 12 months counted from a February never exists."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def in_zone(value: datetime, zone: ZoneInfo) -> datetime:
    """An aware `value` as local time in `zone`, with a fixed-offset tzinfo named like the zone's."""
    local = value.astimezone(zone)
    offset = local.utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return local.replace(tzinfo=timezone(offset, local.tzname()), fold=0)


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """Map a naive local wall time to the instant it fires at, in `zone`.

    A wall time that occurs twice (DST fall-back) maps to its first occurrence. One that does not
    exist (spring-forward gap) maps to the transition instant, the first valid instant after it:
    02:30 on a night clocks jump from 02:00 to 03:00 fires at 03:00 local. The mapping never
    decreases as the wall time grows, which keeps slot streams ordered.
    """
    first = wall.replace(tzinfo=zone, fold=0)  # fold=0: the earlier offset, i.e. first occurrence
    local = first.astimezone(UTC).astimezone(zone)
    if local.replace(tzinfo=None, fold=0) == wall.replace(fold=0):
        return in_zone(local, zone)
    # In a gap, fold=1 reads the wall with the later offset (an instant before the transition) and
    # fold=0 with the earlier one (an instant after it). Bisect between them, in microseconds, for
    # the first instant whose local time is past the wall time: that is the transition.
    lo = _micros(wall.replace(tzinfo=zone, fold=1))
    hi = _micros(first)
    naive = wall.replace(fold=0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _from_micros(mid, zone).replace(tzinfo=None) > naive:
            hi = mid
        else:
            lo = mid
    return in_zone(_from_micros(hi, zone), zone)


def _micros(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def _from_micros(us: int, zone: ZoneInfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(zone)


def elapsed_slots(anchor: datetime, step: timedelta, lower: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Yield `anchor + k·step` (k ≥ 0, UTC arithmetic) from the first one at or after `lower`."""
    base = anchor.astimezone(UTC)
    k = 0 if lower <= base else -((base - lower) // step)  # ceil((lower - base) / step)
    try:
        while True:
            yield in_zone(base + k * step, zone)
            k += 1
    except OverflowError:  # past datetime.max: the schedule has no more slots
        return


def _on_dates(
    dates: Iterable[date], times: list[time], lower_day: date, zone: ZoneInfo
) -> Iterator[datetime]:
    for day in dates:
        if day < lower_day:  # earlier days of the first eligible week or month
            continue
        for tod in times:
            yield to_instant(datetime.combine(day, tod), zone)


def _first_period(offset: int, interval: int) -> int:
    """The smallest multiple of `interval` that is ≥ max(offset, 0)."""
    offset = max(offset, 0)
    return offset + (-offset) % interval


def _guarded(dates: Iterator[date]) -> Iterator[date]:
    # Date arithmetic past year 9999 raises; that just ends the schedule.
    try:
        yield from dates
    except (OverflowError, ValueError):
        return


def day_slots(
    anchor_day: date, interval: int, times: list[time], lower_day: date, zone: ZoneInfo
) -> Iterator[datetime]:
    """Every `interval`-th day counted from `anchor_day`, at `times` (sorted), from `lower_day` on."""

    def dates() -> Iterator[date]:
        day = anchor_day + timedelta(days=_first_period((lower_day - anchor_day).days, interval))
        while True:
            yield day
            day += timedelta(days=interval)

    return _on_dates(_guarded(dates()), times, lower_day, zone)


def week_slots(
    anchor_day: date,
    interval: int,
    weekdays: list[int],
    times: list[time],
    lower_day: date,
    zone: ZoneInfo,
) -> Iterator[datetime]:
    """Every `interval`-th Monday-based week from `anchor_day`'s week, on `weekdays` (0 = Monday)."""
    anchor_monday = anchor_day - timedelta(days=anchor_day.weekday())
    lower_monday = lower_day - timedelta(days=lower_day.weekday())

    def dates() -> Iterator[date]:
        weeks = _first_period((lower_monday - anchor_monday).days // 7, interval)
        monday = anchor_monday + timedelta(weeks=weeks)
        while True:
            for weekday in weekdays:
                yield monday + timedelta(days=weekday)
            monday += timedelta(weeks=interval)

    return _on_dates(_guarded(dates()), times, lower_day, zone)


def month_slots(
    anchor_day: date,
    interval: int,
    month_days: list[int],
    times: list[time],
    lower_day: date,
    zone: ZoneInfo,
) -> Iterator[datetime]:
    """Every `interval`-th month from `anchor_day`'s month, on `month_days`; months lacking a day skip it."""
    anchor_index = anchor_day.year * 12 + anchor_day.month - 1
    lower_index = lower_day.year * 12 + lower_day.month - 1

    def dates() -> Iterator[date]:
        index = anchor_index + _first_period(lower_index - anchor_index, interval)
        empty = 0
        while empty <= MONTH_SEARCH_LIMIT:
            year, month = divmod(index, 12)
            last = calendar.monthrange(year, month + 1)[1]
            days = [d for d in month_days if d <= last]
            empty = 0 if days else empty + interval
            for day in days:
                yield date(year, month + 1, day)
            index += interval

    return _on_dates(_guarded(dates()), times, lower_day, zone)


def cron_slots(expression: str, lower: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """Fire instants of a 5-field cron expression read as local wall time in `zone`, from `lower` on.

    croniter walks naive wall times, so its own DST handling never applies; `to_instant` maps each
    one with the same rules as the other frequencies.
    """
    # One minute back: croniter returns strictly later times, and a slot exactly at `lower` counts.
    start = lower.astimezone(zone).replace(tzinfo=None, fold=0) - timedelta(minutes=1)
    walker = croniter(expression, start)
    while True:
        try:
            wall = walker.get_next(datetime)
        except (CroniterError, OverflowError, ValueError):  # no further match, or past year 9999
            return
        yield to_instant(wall, zone)


def check_cron(expression: str) -> str | None:
    """Return why a cron expression is unusable, or None when it is a valid, firing 5-field one."""
    if len(expression.split()) != 5:
        return "must have exactly 5 fields (minute hour day-of-month month day-of-week)"
    if not croniter.is_valid(expression):
        return "is not a valid cron expression"
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterError:
        return "never matches a date"
    return None
