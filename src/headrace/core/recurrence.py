"""`ScheduleRecurrence`: when a schedule fires, and the pure computation of its fire times.

A recurrence is either a frequency and interval (Azure ML v1's `ScheduleRecurrence`, plus v2's
`end_time` and `month_days`) or a 5-field cron expression (v2's `CronTrigger`). Every argument is
checked in the constructor; an invalid one raises `ScheduleError` whose `field` names it.

How fire times are computed (`next_runs`):

- **The anchor** is what a recurrence counts from: `start_time` when given, else the instant the
  schedule was created (the `anchor` argument), else the `after` argument itself. No slot is ever
  earlier than the anchor.
- **Minute and Hour** count elapsed time: slots are `anchor + k·interval`, in UTC arithmetic, so
  they stay exactly `interval` apart across DST changes.
- **Day, Week, Month and cron** follow the wall clock of `time_zone` (default UTC).
  Day fires every `interval`-th day counted from the anchor's local date. Week fires every
  `interval`-th week counted from the anchor's week (weeks start on Monday), on `week_days`
  (default: the anchor's weekday). Month fires every `interval`-th month counted from the anchor's
  month, on `month_days` (default: the anchor's day of month); a month without that day is skipped,
  never clamped (day 31 does not fire in April).
  The times of day are every combination of `hours` × `minutes`; a missing `hours` means the
  anchor's hour, a missing `minutes` the anchor's minute, and with neither the recurrence fires at
  the anchor's exact time of day. `time_of_day="18:30"` is shorthand for `hours=[18], minutes=[30]`.
  Lists are sorted and deduplicated; an empty list means "not given". A Month schedule whose days
  can never occur (day 30, every 12 months, counted from a February) has no fire times.
- **Cron** expressions are read as wall times in `time_zone`; day-of-month and day-of-week follow
  standard cron semantics (when both are restricted, either may match), as implemented by croniter.
  A cron does not count from the anchor; it only never fires before it.
- **DST**: a wall time that does not exist (clocks spring forward) fires once, at the first valid
  instant after it, the transition: 02:30 Europe/Paris on 2026-03-29 fires at 03:00 local (01:00 UTC).
  A wall time that happens twice (clocks fall back) fires once, at its first occurrence; so during
  the repeated hour a cron such as `*/30 * * * *` pauses for an hour of real time. Use Minute or Hour
  for a strictly regular beat. Two wall times that land on the same instant fire once; fire times
  are always strictly increasing.
- **start_time** is the first eligible instant: a slot exactly at `start_time` fires (Azure v1
  skipped it, to its users' surprise). Nothing here fires "immediately at creation": that is the
  schedule's decision. A start time in the past does not backfill; `next_runs` only looks after
  `after`. A naive start or end time is a wall time in `time_zone` (mapped by the DST rules above).
- **end_time** is inclusive: a slot exactly at `end_time` still fires, none after it does.
- **Returned datetimes** (fire times, `start_time`, `end_time`) are local times in `time_zone`
  carrying that moment's fixed UTC offset (`datetime.timezone`), not the `ZoneInfo`: Python compares
  datetimes sharing a `ZoneInfo` by wall time and never finds one in a repeated hour equal to a UTC
  datetime (PEP 495), which would make `==` and `-` lie on fall-back nights. `zone` gives the `ZoneInfo`.

Example:
    >>> from datetime import datetime, timezone
    >>> r = ScheduleRecurrence("Week", 2, week_days=["Monday", "Wednesday"], time_of_day="18:30",
    ...                        start_time="2026-01-05T00:00", time_zone="Europe/Paris")
    >>> r.describe()
    'Every 2 weeks on Monday and Wednesday at 18:30 from 2026-01-05 00:00, Europe/Paris'
    >>> r.next_run(datetime(2026, 1, 6, tzinfo=timezone.utc)).isoformat()
    '2026-01-07T18:30:00+01:00'
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from headrace.core import _recurrence_fields as check
from headrace.core import _wallclock as wallclock
from headrace.core._recurrence_fields import WEEK_DAYS, Frequency, WeekDay
from headrace.core._recurrence_text import describe, from_dict, from_wire, to_dict, to_wire
from headrace.core.timezones import TimeZone, resolve_zone
from headrace.errors import ScheduleError

__all__ = ["Frequency", "ScheduleRecurrence", "TimeZone", "WeekDay"]


class ScheduleRecurrence:
    """When a schedule fires: a frequency and interval with an optional pattern, or a cron expression.

    Args:
        frequency: "Minute", "Hour", "Day", "Week" or "Month" (any case); not with `cron`.
        interval: how many frequency units between firings, a whole number ≥ 1; not with `cron`.
        start_time: first eligible instant, and the anchor the recurrence counts from. A naive
            datetime or offset-less ISO string is a wall time in `time_zone`.
        time_zone: a `TimeZone` member, a Windows id or an IANA name; default UTC.
        hours: hours of the day 0–23 (Day, Week, Month only).
        minutes: minutes of the hour 0–59 (Day, Week, Month only).
        week_days: day names "Monday".."Sunday", any case (Week only).
        time_of_day: "H:MM" or "HH:MM", shorthand for one hour and minute; not with hours/minutes.
        end_time: last eligible instant (inclusive); must be after `start_time`.
        month_days: days of the month 1–31 (Month only); months without the day are skipped.
        cron: a 5-field cron expression, read in `time_zone`; excludes every pattern argument.

    Raises:
        ScheduleError: an argument is invalid; `.field` names it and the message says what is allowed.

    The properties mirror the arguments, normalised. `time_zone` is the canonical IANA name (what
    is stored, "UTC" for every UTC alias), `time_zone_name` the zone as the caller named it (a
    Windows id stays one), and `zone` the `ZoneInfo`.
    """

    def __init__(
        self,
        frequency: str | Frequency | None = None,
        interval: int | None = None,
        start_time: datetime | str | None = None,
        time_zone: TimeZone | str | None = None,
        hours: list[int] | None = None,
        minutes: list[int] | None = None,
        week_days: list[str] | None = None,
        time_of_day: str | None = None,
        *,
        end_time: datetime | str | None = None,
        month_days: list[int] | None = None,
        cron: str | None = None,
    ):
        self._frequency: Any = frequency
        self._interval: Any = interval
        self._start: Any = start_time
        self._end: Any = end_time
        self._zone_given: Any = time_zone
        self._hours: Any = hours
        self._minutes: Any = minutes
        self._week_days: Any = week_days
        self._time_of_day: Any = time_of_day
        self._month_days: Any = month_days
        self._cron: Any = cron
        self.validate()

    def validate(self) -> None:
        """Check every argument and combination, normalising the stored values (idempotent).

        Raises:
            ScheduleError: the first problem found; `.field` names the argument.
        """
        zone = resolve_zone(self._zone_given)
        hours = check.int_list(self._hours, "hours", 0, 23)
        minutes = check.int_list(self._minutes, "minutes", 0, 59)
        week_days = check.week_days(self._week_days)
        month_days = check.int_list(self._month_days, "month_days", 1, 31)
        if self._time_of_day is not None:
            if hours is not None or minutes is not None:
                raise ScheduleError(
                    "cannot be combined with hours or minutes; give one or the other", field="time_of_day"
                )
            hour, minute = check.time_of_day(self._time_of_day)
            hours, minutes = [hour], [minute]
        frequency = interval = cron = None
        if self._cron is not None:
            given = {
                "frequency": self._frequency, "interval": self._interval, "hours": hours, "minutes": minutes,
                "week_days": week_days, "month_days": month_days, "time_of_day": self._time_of_day,
            }  # fmt: skip
            cron = check.cron(self._cron, given)
        else:
            frequency = check.frequency(self._frequency)
            interval = check.interval(self._interval)
            check.pattern(frequency, hours, minutes, week_days, month_days, self._time_of_day is not None)
        start = check.moment(self._start, zone, "start_time")
        end = check.moment(self._end, zone, "end_time")
        if start is not None and end is not None and end <= start:
            raise ScheduleError(
                f"{end.isoformat()} must be after start_time {start.isoformat()}", field="end_time"
            )
        self._frequency, self._interval, self._cron = frequency, interval, cron
        self._zone: ZoneInfo = zone
        self._zone_given = check.zone_name(self._zone_given, zone)
        self._hours, self._minutes, self._time_of_day = hours, minutes, None
        self._week_days, self._month_days = week_days, month_days
        self._start, self._end = start, end

    # -- properties -----------------------------------------------------------------------------

    @property
    def frequency(self) -> Frequency | None:
        """The frequency (a `str` enum: compares equal to "Week"), or None for cron."""
        return self._frequency

    @property
    def interval(self) -> int | None:
        """Frequency units between firings, or None for cron."""
        return self._interval

    @property
    def start_time(self) -> datetime | None:
        """First eligible instant: local time in the schedule's zone, with its fixed UTC offset."""
        return self._start

    @property
    def end_time(self) -> datetime | None:
        """Last eligible instant (inclusive), like `start_time`."""
        return self._end

    @property
    def time_zone(self) -> str:
        """The canonical zone name (IANA key, "UTC" for every UTC alias): what is stored."""
        return str(self._zone.key)

    @property
    def time_zone_name(self) -> str:
        """The zone as the user named it ("Pacific Standard Time" for `TimeZone.PacificStandardTime`)."""
        return str(self._zone_given)

    @property
    def zone(self) -> ZoneInfo:
        """The zone, ready for datetime arithmetic."""
        return self._zone

    @property
    def hours(self) -> list[int] | None:
        """Hours of the day, sorted."""
        return None if self._hours is None else list(self._hours)

    @property
    def minutes(self) -> list[int] | None:
        """Minutes of the hour, sorted."""
        return None if self._minutes is None else list(self._minutes)

    @property
    def week_days(self) -> list[str] | None:
        """Week day names, capitalised, Monday first."""
        return None if self._week_days is None else list(self._week_days)

    @property
    def month_days(self) -> list[int] | None:
        """Days of the month, sorted."""
        return None if self._month_days is None else list(self._month_days)

    @property
    def cron(self) -> str | None:
        """The cron expression (whitespace normalised), or None."""
        return self._cron

    # -- fire times -----------------------------------------------------------------------------

    def next_runs(self, after: datetime, count: int = 1, *, anchor: datetime | None = None) -> list[datetime]:
        """The next `count` fire instants strictly after `after`, within start and end time.

        Args:
            after: an aware datetime; only later slots are returned.
            count: how many slots at most (fewer once `end_time` is reached).
            anchor: what to count from when there is no `start_time`: the schedule's creation
                instant. Defaults to `after`.

        Returns:
            Local times in the schedule's zone with their fixed UTC offset, strictly increasing.

        Raises:
            ScheduleError: `after` or `anchor` is naive, or `count` is not a whole number ≥ 0.

        Example:
            >>> r = ScheduleRecurrence("Hour", 1, start_time="2020-01-13T12:55:00")
            >>> [t.strftime("%H:%M") for t in r.next_runs(datetime.fromisoformat("2020-01-13T13:00Z"), 2)]
            ['13:55', '14:55']
        """
        check.aware(after, "after")
        if anchor is not None:
            check.aware(anchor, "anchor")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ScheduleError(f"{count!r} is not allowed; give a whole number >= 0", field="count")
        start, end = self._start, self._end
        base = start or anchor or after
        lower = max(after, base)
        found: list[datetime] = []
        if count == 0 or (end is not None and lower > end):
            return found
        for slot in self._slots(base, lower):
            if slot <= after or slot < base or (found and slot <= found[-1]):
                continue
            if end is not None and slot > end:
                break
            found.append(slot)
            if len(found) == count:
                break
        return found

    def next_run(self, after: datetime, anchor: datetime | None = None) -> datetime | None:
        """The first fire instant strictly after `after`, or None when there is none (see `next_runs`)."""
        runs = self.next_runs(after, 1, anchor=anchor)
        return runs[0] if runs else None

    def _slots(self, anchor: datetime, lower: datetime) -> Iterator[datetime]:
        zone = self._zone
        if self._cron is not None:
            return wallclock.cron_slots(self._cron, lower, zone)
        if self._frequency in (Frequency.MINUTE, Frequency.HOUR):
            unit = timedelta(minutes=1) if self._frequency is Frequency.MINUTE else timedelta(hours=1)
            return wallclock.elapsed_slots(anchor, unit * self._interval, lower, zone)
        local = anchor.astimezone(zone)
        times = self._times(local)
        # A day early: around a fall-back the first slots at/after `lower` may sit on the day before.
        lower_day = lower.astimezone(zone).date() - timedelta(days=1)
        if self._frequency is Frequency.DAY:
            return wallclock.day_slots(local.date(), self._interval, times, lower_day, zone)
        if self._frequency is Frequency.WEEK:
            weekdays = [WEEK_DAYS.index(d) for d in self._week_days] if self._week_days else [local.weekday()]
            return wallclock.week_slots(local.date(), self._interval, weekdays, times, lower_day, zone)
        days = self._month_days or [local.day]
        return wallclock.month_slots(local.date(), self._interval, days, times, lower_day, zone)

    def _times(self, local_anchor: datetime) -> list[time]:
        if self._hours is None and self._minutes is None:
            return [local_anchor.time().replace(fold=0)]
        hours = self._hours or [local_anchor.hour]
        minutes = self._minutes or [local_anchor.minute]
        return [time(h, m) for h in hours for m in minutes]

    # -- text and serialisation -----------------------------------------------------------------

    def describe(self) -> str:
        """A plain-English summary, e.g. "Every 2 weeks on Monday and Wednesday at 18:30, Europe/Paris"."""
        return describe(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with snake_case keys; `from_dict` reverses it. Times are ISO 8601 with offset."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleRecurrence:
        """Rebuild from `to_dict()` output (also accepts `time_of_day`).

        Raises:
            ScheduleError: an unknown key, or any invalid value.
        """
        return cls(**from_dict(data))

    def to_wire(self) -> dict[str, Any]:
        """The Azure v1 REST shape: `{"Frequency", "Interval", "StartTime", ..., "Schedule": {...}}`."""
        return to_wire(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> ScheduleRecurrence:
        """Rebuild from the Azure v1 REST shape; keys are matched case-insensitively, `Schedule` may be null.

        Raises:
            ScheduleError: an unknown key, or any invalid value.
        """
        return cls(**from_wire(data))

    def _key(self) -> tuple[Any, ...]:
        return (
            self._frequency, self._interval, self._start, self._end, self.time_zone, self._cron,
            *(tuple(v) if v else None for v in (self._hours, self._minutes, self._week_days, self._month_days)),
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScheduleRecurrence):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.to_dict().items() if v is not None and k != "time_zone"}
        fields["time_zone"] = self.time_zone
        inner = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"ScheduleRecurrence({inner})"

