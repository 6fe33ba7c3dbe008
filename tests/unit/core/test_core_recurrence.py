"""ScheduleRecurrence: validation, fire times (incl. DST nights in four zones), text and round trips."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from headrace.core.recurrence import Frequency, ScheduleRecurrence, TimeZone
from headrace.errors import ScheduleError

R = ScheduleRecurrence


def utc(text: str) -> datetime:
    """An aware UTC datetime from a short ISO string ('2026-03-29T01:00')."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# -- validation ---------------------------------------------------------------------------------

INVALID: list[tuple[dict[str, Any], str]] = [
    ({"interval": 1}, "frequency"),
    ({"frequency": "Fortnight", "interval": 1}, "frequency"),
    ({"frequency": 5, "interval": 1}, "frequency"),
    ({"frequency": "Day"}, "interval"),
    ({"frequency": "Day", "interval": 0}, "interval"),
    ({"frequency": "Day", "interval": -3}, "interval"),
    ({"frequency": "Day", "interval": True}, "interval"),
    ({"frequency": "Day", "interval": 1.5}, "interval"),
    ({"frequency": "Day", "interval": "2"}, "interval"),
    ({"frequency": "Day", "interval": 1, "hours": [24]}, "hours"),
    ({"frequency": "Day", "interval": 1, "hours": [-1]}, "hours"),
    ({"frequency": "Day", "interval": 1, "hours": [True]}, "hours"),
    ({"frequency": "Day", "interval": 1, "hours": [6.0]}, "hours"),
    ({"frequency": "Day", "interval": 1, "hours": "6"}, "hours"),
    ({"frequency": "Day", "interval": 1, "minutes": [60]}, "minutes"),
    ({"frequency": "Week", "interval": 1, "week_days": ["Funday"]}, "week_days"),
    ({"frequency": "Week", "interval": 1, "week_days": [1]}, "week_days"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "25:00"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "12:60"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "1230"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "12:3"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": 1230}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "12:30", "hours": [1]}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "time_of_day": "12:30", "minutes": [1]}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "week_days"),
    ({"frequency": "Month", "interval": 1, "week_days": ["Monday"]}, "week_days"),
    ({"frequency": "Minute", "interval": 5, "hours": [1]}, "hours"),
    ({"frequency": "Hour", "interval": 1, "minutes": [5]}, "minutes"),
    ({"frequency": "Minute", "interval": 1, "time_of_day": "10:00"}, "time_of_day"),
    ({"frequency": "Month", "interval": 1, "month_days": [0]}, "month_days"),
    ({"frequency": "Month", "interval": 1, "month_days": [32]}, "month_days"),
    ({"frequency": "Week", "interval": 1, "month_days": [1]}, "month_days"),
    ({"cron": "* * *"}, "cron"),
    ({"cron": "0 0 * * * *"}, "cron"),
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"cron": "@daily"}, "cron"),
    ({"cron": 5}, "cron"),
    ({"cron": "* * * * *", "frequency": "Day"}, "frequency"),
    ({"cron": "* * * * *", "interval": 1}, "interval"),
    ({"cron": "* * * * *", "hours": [1]}, "hours"),
    ({"cron": "* * * * *", "minutes": [1]}, "minutes"),
    ({"cron": "* * * * *", "week_days": ["Monday"]}, "week_days"),
    ({"cron": "* * * * *", "month_days": [1]}, "month_days"),
    ({"cron": "* * * * *", "time_of_day": "10:00"}, "time_of_day"),
    ({"frequency": "Day", "interval": 1, "start_time": "yesterday"}, "start_time"),
    ({"frequency": "Day", "interval": 1, "start_time": 1700000000}, "start_time"),
    ({"frequency": "Day", "interval": 1, "end_time": "2026-13-01"}, "end_time"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-01-02", "end_time": "2026-01-01"}, "end_time"),
    ({"frequency": "Day", "interval": 1, "start_time": "2026-01-02", "end_time": "2026-01-02"}, "end_time"),
    (
        {"cron": "0 * * * *", "start_time": "2026-01-02T00:00Z", "end_time": "2026-01-01T21:00-02:00"},
        "end_time",
    ),
    ({"frequency": "Day", "interval": 1, "time_zone": "Mars/Olympus"}, "time_zone"),
]


@pytest.mark.parametrize(("kwargs", "field"), INVALID)
def test_invalid_arguments_raise_schedule_error_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        R(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("kwargs", "allowed"),
    [
        ({"frequency": "Fortnight", "interval": 1}, "Minute, Hour, Day, Week, Month"),
        ({"frequency": "Day", "interval": 0}, "from 1 to"),
        ({"frequency": "Day", "interval": 1, "hours": [24]}, "0-23"),
        ({"frequency": "Week", "interval": 1, "week_days": ["Funday"]}, "Monday"),
        ({"frequency": "Day", "interval": 1, "week_days": ["Monday"]}, "frequency Week"),
        ({"cron": "* * *"}, "5 fields"),
        ({"cron": "* * * * *", "hours": [1]}, "cron"),
    ],
)
def test_messages_say_what_is_allowed(kwargs: dict[str, Any], allowed: str) -> None:
    with pytest.raises(ScheduleError, match=allowed):
        R(**kwargs)


def test_arguments_are_normalised() -> None:
    r = R("week", 2, hours=[18, 6, 6], minutes=30, week_days=["wednesday", "MONDAY", "monday"])
    assert r.frequency is Frequency.WEEK and r.frequency == "Week"
    assert (r.hours, r.minutes, r.week_days) == ([6, 18], [30], ["Monday", "Wednesday"])
    assert r.time_zone == "UTC" and r.time_zone_name == "UTC"


def test_time_of_day_becomes_hours_and_minutes() -> None:
    r = R("Day", 1, time_of_day="6:05")
    assert (r.hours, r.minutes) == ([6], [5])


def test_empty_lists_mean_not_given() -> None:
    r = R("Minute", 5, hours=[], minutes=[], week_days=[])
    assert (r.hours, r.minutes, r.week_days) == (None, None, None)


def test_month_may_take_hours_and_month_days() -> None:
    r = R("Month", 1, month_days=[15, 1], time_of_day="09:00")
    assert (r.month_days, r.hours, r.minutes) == ([1, 15], [9], [0])


def test_cron_takes_zone_and_times_and_normalises_spaces() -> None:
    r = R(cron="  */15   *  * * * ", time_zone="Europe/Paris", start_time="2026-01-01T00:00")
    assert r.cron == "*/15 * * * *"
    assert r.frequency is None and r.interval is None


def test_validate_can_run_again() -> None:
    r = R(
        "Week", 2, "2026-01-05T10:00", TimeZone.WEuropeStandardTime, week_days=["monday"], time_of_day="18:30"
    )
    before = r.to_dict()
    r.validate()
    assert r.to_dict() == before


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (datetime(2026, 1, 5, 9, 0), "2026-01-05T09:00:00+01:00"),  # naive = wall time in the zone
        (datetime(2026, 1, 5, 8, 0, tzinfo=UTC), "2026-01-05T09:00:00+01:00"),  # aware: converted
        ("2026-07-05T09:00:00", "2026-07-05T09:00:00+02:00"),
        ("2026-07-05T09:00:00Z", "2026-07-05T11:00:00+02:00"),
        ("2026-03-29T02:30:00", "2026-03-29T03:00:00+02:00"),  # in the DST gap: the transition
        ("2026-10-25T02:30:00", "2026-10-25T02:30:00+02:00"),  # in the overlap: first occurrence
    ],
)
def test_start_time_forms(start: Any, expected: str) -> None:
    r = R("Day", 1, start, "Europe/Paris")
    assert r.start_time is not None
    assert r.start_time.isoformat() == expected


def test_windows_zone_keeps_the_given_name() -> None:
    r = R("Minute", 30, "2026-01-01T00:00", TimeZone.PacificStandardTime)
    assert r.time_zone == "America/Los_Angeles"
    assert r.time_zone_name == "Pacific Standard Time"
    assert r.zone == ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"after": datetime(2026, 1, 1)}, "after"),
        ({"after": utc("2026-01-01T00:00"), "anchor": datetime(2026, 1, 1)}, "anchor"),
        ({"after": utc("2026-01-01T00:00"), "count": -1}, "count"),
        ({"after": utc("2026-01-01T00:00"), "count": True}, "count"),
    ],
)
def test_next_runs_argument_errors(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        R("Hour", 1).next_runs(**kwargs)
    assert info.value.field == field


# -- fire times ---------------------------------------------------------------------------------


def test_minute_15() -> None:
    r = R("Minute", 15, start_time="2026-01-01T00:00")
    assert r.next_runs(utc("2026-01-01T00:07"), 3) == [
        utc("2026-01-01T00:15"),
        utc("2026-01-01T00:30"),
        utc("2026-01-01T00:45"),
    ]


def test_hour_1_at_55_docstring_example() -> None:
    r = R("Hour", 1, start_time="2020-01-13T12:55:00")
    assert r.next_runs(utc("2020-01-13T13:00"), 2) == [utc("2020-01-13T13:55"), utc("2020-01-13T14:55")]


def test_month_1_from_first_of_month_docstring_example() -> None:
    r = R("Month", 1, start_time="2019-11-01T09:00:00")
    assert r.next_runs(utc("2019-10-01T00:00"), 4) == [
        utc("2019-11-01T09:00"),
        utc("2019-12-01T09:00"),
        utc("2020-01-01T09:00"),
        utc("2020-02-01T09:00"),
    ]


def test_week_2_monday_wednesday_1830_docstring_example() -> None:
    # 2019-06-07 is a Friday: its week (from Monday 06-03) is week 0, so weeks of 06-17, 07-01 fire.
    r = R(
        "Week", 2, "2019-06-07T10:50:00", TimeZone.UTC, week_days=["Monday", "Wednesday"], time_of_day="18:30"
    )
    assert r.next_runs(utc("2019-06-07T00:00"), 4) == [
        utc("2019-06-17T18:30"),
        utc("2019-06-19T18:30"),
        utc("2019-07-01T18:30"),
        utc("2019-07-03T18:30"),
    ]


def test_week_in_paris_follows_local_time() -> None:
    r = R(
        "Week", 2, "2026-01-05T00:00", "Europe/Paris", week_days=["Monday", "Wednesday"], time_of_day="18:30"
    )
    runs = r.next_runs(utc("2026-03-10T00:00"), 3)
    assert [t.isoformat() for t in runs] == [
        "2026-03-16T18:30:00+01:00",
        "2026-03-18T18:30:00+01:00",
        "2026-03-30T18:30:00+02:00",  # after the spring change: still 18:30 local
    ]


def test_day_times_are_hours_by_minutes() -> None:
    r = R("Day", 1, "2026-01-01T00:00", hours=[4, 10], minutes=[0, 30])
    assert [t.strftime("%H:%M") for t in r.next_runs(utc("2026-01-01T00:00"), 5)] == [
        "04:00",
        "04:30",
        "10:00",
        "10:30",
        "04:00",
    ]


def test_day_interval_counts_from_the_anchor_date() -> None:
    r = R("Day", 3, "2026-01-01T08:00")
    assert r.next_run(utc("2026-01-05T00:00")) == utc("2026-01-07T08:00")


def test_missing_hours_or_minutes_come_from_the_anchor() -> None:
    # 06:20 on the first day is before start_time, so the first run is the next day's.
    assert R("Day", 1, "2026-01-01T08:20", hours=[6]).next_run(utc("2026-01-01T00:00")) == utc(
        "2026-01-02T06:20"
    )
    assert R("Day", 1, "2026-01-01T08:20", minutes=[45]).next_run(utc("2026-01-01T00:00")) == utc(
        "2026-01-01T08:45"
    )
    assert R("Day", 1, "2026-01-01T08:20:15").next_run(utc("2026-01-01T09:00")) == utc("2026-01-02T08:20:15")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (
            "2026-01-01T00:00",
            ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31"],
        ),
        (
            "2026-01-31T00:00",
            ["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31"],
        ),
    ],
)
def test_month_day_31_skips_short_months(start: str, expected: list[str]) -> None:
    month_days = [31] if start.startswith("2026-01-01") else None
    r = R("Month", 1, start, month_days=month_days, time_of_day="00:00")
    assert [t.date().isoformat() for t in r.next_runs(utc("2025-12-31T00:00"), 6)] == expected


def test_month_day_29_every_12_months_from_february_fires_in_leap_years() -> None:
    r = R("Month", 12, "2025-02-01T00:00", month_days=[29], time_of_day="12:00")
    assert r.next_runs(utc("2025-01-01T00:00"), 2) == [utc("2028-02-29T12:00"), utc("2032-02-29T12:00")]


def test_month_that_can_never_fire_gives_none() -> None:
    r = R("Month", 12, "2026-02-01T00:00", month_days=[30])
    assert r.next_run(utc("2026-01-01T00:00")) is None


def test_month_interval_and_several_days() -> None:
    r = R("Month", 2, "2026-01-10T00:00", "Europe/Paris", month_days=[1, 15], time_of_day="09:00")
    assert [t.isoformat() for t in r.next_runs(utc("2026-01-01T00:00"), 4)] == [
        "2026-01-15T09:00:00+01:00",  # the 1st is before start_time
        "2026-03-01T09:00:00+01:00",
        "2026-03-15T09:00:00+01:00",
        "2026-05-01T09:00:00+02:00",
    ]


def test_end_time_is_inclusive_and_stops_the_schedule() -> None:
    r = R("Day", 1, "2026-01-01T09:00", end_time="2026-01-03T09:00")
    assert r.next_runs(utc("2025-12-31T00:00"), 10) == [
        utc("2026-01-01T09:00"),
        utc("2026-01-02T09:00"),
        utc("2026-01-03T09:00"),
    ]
    assert r.next_run(utc("2026-01-03T09:00")) is None
    assert r.next_runs(utc("2027-01-01T00:00"), 5) == []


def test_end_time_without_start_time() -> None:
    r = R("Hour", 6, end_time="2026-01-01T13:00")
    anchor = utc("2026-01-01T00:00")
    assert r.next_runs(anchor, 5, anchor=anchor) == [utc("2026-01-01T06:00"), utc("2026-01-01T12:00")]


@pytest.mark.parametrize(
    "recurrence",
    [
        R("Week", 1, "2026-01-05T18:30", week_days=["Monday"], time_of_day="18:30"),
        R("Minute", 15, "2026-01-05T18:30"),
        R("Day", 1, "2026-01-05T18:30"),
        R("Month", 1, "2026-01-05T18:30"),
        R(cron="30 18 * * 1", start_time="2026-01-05T18:30"),
    ],
)
def test_a_slot_exactly_at_start_time_fires(recurrence: ScheduleRecurrence) -> None:
    start = utc("2026-01-05T18:30")
    assert recurrence.next_run(start - timedelta(days=30)) == start
    assert recurrence.next_run(start - timedelta(microseconds=1)) == start
    assert recurrence.next_run(start) != start  # strictly after `after`


def test_start_time_in_the_past_does_not_backfill() -> None:
    r = R("Hour", 1, "2020-01-01T00:30")
    assert r.next_runs(utc("2026-05-01T10:45"), 2) == [utc("2026-05-01T11:30"), utc("2026-05-01T12:30")]


def test_count_zero_and_next_run() -> None:
    r = R("Hour", 1)
    assert r.next_runs(utc("2026-01-01T00:00"), 0) == []
    assert r.next_run(utc("2026-01-01T00:00")) == utc("2026-01-01T01:00")


def test_anchor_is_used_without_start_time() -> None:
    r = R("Minute", 15)
    created = utc("2026-01-01T10:07")
    assert r.next_run(utc("2026-01-01T10:30"), anchor=created) == utc("2026-01-01T10:37")
    assert r.next_run(utc("2026-01-01T10:30")) == utc("2026-01-01T10:45")  # anchor defaults to `after`


def test_no_slot_before_the_anchor() -> None:
    created = utc("2026-01-01T10:00")
    assert R("Day", 1, hours=[6]).next_run(utc("2026-01-01T05:00"), anchor=created) == utc("2026-01-02T06:00")


def test_start_time_wins_over_anchor() -> None:
    r = R("Minute", 15, "2026-01-01T10:00")
    assert r.next_run(utc("2026-01-01T10:30"), anchor=utc("2026-01-01T10:07")) == utc("2026-01-01T10:45")


def test_anchor_gives_day_time_week_day_and_month_day() -> None:
    created = utc("2026-01-07T08:20")  # a Wednesday
    after = utc("2026-01-08T00:00")
    assert R("Day", 1).next_run(after, anchor=created) == utc("2026-01-08T08:20")
    assert R("Week", 1, time_of_day="09:00").next_run(after, anchor=created) == utc("2026-01-14T09:00")
    assert R("Month", 1).next_run(after, anchor=created) == utc("2026-02-07T08:20")


def test_results_are_in_the_schedule_zone() -> None:
    r = R("Day", 1, time_of_day="07:00", time_zone="America/New_York")
    run = r.next_run(utc("2026-01-01T00:00"))
    assert run is not None and run.isoformat() == "2026-01-01T07:00:00-05:00"
    assert run.tzname() == "EST"


def test_minute_1_anchored_a_year_ago_is_computed_by_arithmetic() -> None:
    r = R("Minute", 1)
    after = utc("2026-05-01T12:34:56")
    runs = r.next_runs(after, 3, anchor=utc("2025-05-01T00:00:30"))
    assert runs == [utc("2026-05-01T12:35:30"), utc("2026-05-01T12:36:30"), utc("2026-05-01T12:37:30")]


def test_week_and_day_intervals_anchored_decades_ago() -> None:
    anchor = utc("1990-01-01T06:00")  # a Monday
    weeks = (date(2026, 5, 4) - date(1990, 1, 1)).days // 7  # 2026-05-04 is a Monday
    first = weeks + (-weeks) % 3
    expected = utc("1990-01-01T06:00") + timedelta(weeks=first)
    assert R("Week", 3).next_run(utc("2026-05-04T00:00"), anchor=anchor) == expected
    days = (date(2026, 5, 4) - date(1990, 1, 1)).days
    assert R("Day", 7).next_run(utc("2026-05-04T00:00"), anchor=anchor) == anchor + timedelta(
        days=days + (-days) % 7
    )


def test_schedule_ending_near_datetime_max_stops() -> None:
    r = R("Day", 1000, "9990-01-01T00:00")
    assert len(r.next_runs(utc("9990-01-02T00:00"), 10)) == 3


# -- DST ----------------------------------------------------------------------------------------

# (zone, local wall time, local date of the change, expected instant of that day's firing)
DST_DAYS = [
    ("Europe/Paris", "02:30", date(2026, 3, 29), "2026-03-29T01:00"),  # gap: at the transition (03:00)
    ("Europe/Paris", "02:30", date(2026, 10, 25), "2026-10-25T00:30"),  # overlap: first (CEST)
    ("America/New_York", "02:30", date(2026, 3, 8), "2026-03-08T07:00"),
    ("America/New_York", "01:30", date(2026, 11, 1), "2026-11-01T05:30"),
    ("Australia/Sydney", "02:30", date(2026, 10, 4), "2026-10-03T16:00"),  # southern spring
    ("Australia/Sydney", "02:30", date(2026, 4, 5), "2026-04-04T15:30"),  # southern autumn
    ("Australia/Lord_Howe", "02:15", date(2026, 10, 4), "2026-10-03T15:30"),  # 30-minute gap
    ("Australia/Lord_Howe", "01:45", date(2026, 4, 5), "2026-04-04T14:45"),  # 30-minute overlap
]


def _around(recurrence: ScheduleRecurrence, zone: str, day: date) -> list[datetime]:
    after = datetime.combine(day - timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
    return recurrence.next_runs(after, 3)


def _check_dst_day(runs: list[datetime], zone: str, wall: str, day: date, expected: str) -> None:
    assert runs[1] == utc(expected)
    assert (runs[0].date(), runs[0].strftime("%H:%M")) == (day - timedelta(days=1), wall)
    assert (runs[2].date(), runs[2].strftime("%H:%M")) == (day + timedelta(days=1), wall)
    assert all(t.utcoffset() == t.astimezone(ZoneInfo(zone)).utcoffset() for t in runs)


@pytest.mark.parametrize(("zone", "wall", "day", "expected"), DST_DAYS)
def test_day_schedule_on_dst_nights(zone: str, wall: str, day: date, expected: str) -> None:
    r = R("Day", 1, "2026-01-01T00:00", zone, time_of_day=wall)
    _check_dst_day(_around(r, zone, day), zone, wall, day, expected)


@pytest.mark.parametrize(("zone", "wall", "day", "expected"), DST_DAYS)
def test_daily_cron_on_dst_nights(zone: str, wall: str, day: date, expected: str) -> None:
    hour, minute = wall.split(":")
    r = R(cron=f"{int(minute)} {int(hour)} * * *", time_zone=zone)
    _check_dst_day(_around(r, zone, day), zone, wall, day, expected)


def test_cron_30_2_in_paris() -> None:
    r = R(cron="30 2 * * *", time_zone="Europe/Paris")
    assert r.next_runs(utc("2026-03-28T00:00"), 3) == [
        utc("2026-03-28T01:30"),
        utc("2026-03-29T01:00"),  # 02:30 does not exist: fires at 03:00 CEST
        utc("2026-03-30T00:30"),
    ]
    assert r.next_runs(utc("2026-10-24T00:00"), 3) == [
        utc("2026-10-24T00:30"),
        utc("2026-10-25T00:30"),  # once, at the first 02:30
        utc("2026-10-26T01:30"),
    ]


def test_several_wall_times_in_the_gap_fire_once() -> None:
    r = R("Day", 1, "2026-03-28T00:00", "Europe/Paris", hours=[2, 3], minutes=[0, 30])
    assert r.next_runs(utc("2026-03-29T00:00"), 3) == [
        utc("2026-03-29T01:00"),  # 02:00, 02:30 and 03:00 are all the transition instant
        utc("2026-03-29T01:30"),
        utc("2026-03-30T00:00"),
    ]


DST_NIGHTS = [
    ("Europe/Paris", "2026-03-28T22:00"),
    ("Europe/Paris", "2026-10-24T22:00"),
    ("America/New_York", "2026-03-08T04:00"),
    ("America/New_York", "2026-11-01T03:00"),
    ("Australia/Sydney", "2026-04-04T12:00"),
    ("Australia/Sydney", "2026-10-03T12:00"),
    ("Australia/Lord_Howe", "2026-04-04T12:00"),
    ("Australia/Lord_Howe", "2026-10-03T12:00"),
]


@pytest.mark.parametrize(("zone", "after"), DST_NIGHTS)
def test_every_30_minutes_cron_across_dst_nights(zone: str, after: str) -> None:
    r = R(cron="*/30 * * * *", time_zone=zone)
    runs = r.next_runs(utc(after), 16)
    assert all(b > a for a, b in zip(runs, runs[1:], strict=False))
    # Every half hour of real time, except the second pass through a repeated (fold=1) wall time.
    grid = [utc(after) + timedelta(minutes=30 * k) for k in range(1, 24)]
    expected = [t for t in grid if t.astimezone(ZoneInfo(zone)).fold == 0][:16]
    assert runs == expected
    assert len(expected) < len(grid[:16]) + 2  # sanity: at most the repeated hour is skipped


@pytest.mark.parametrize(("zone", "after"), DST_NIGHTS)
def test_hour_schedule_counts_elapsed_time_across_dst(zone: str, after: str) -> None:
    r = R("Hour", 1, start_time=utc(after), time_zone=zone)
    runs = r.next_runs(utc(after), 8)
    assert all(b - a == timedelta(hours=1) for a, b in zip(runs, runs[1:], strict=False))
    offsets = {t.utcoffset() for t in runs}
    assert len(offsets) == 2  # the night's change is inside the window


def test_minute_90_counts_elapsed_time_in_new_york() -> None:
    r = R("Minute", 90, "2026-11-01T00:00", "America/New_York")
    runs = r.next_runs(utc("2026-11-01T00:00"), 3)
    assert [t.strftime("%H:%M%z") for t in runs] == ["00:00-0400", "01:30-0400", "02:00-0500"]


# -- text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recurrence", "text"),
    [
        (
            R("Week", 2, None, "Europe/Paris", week_days=["Monday", "Wednesday"], time_of_day="18:30"),
            "Every 2 weeks on Monday and Wednesday at 18:30, Europe/Paris",
        ),
        (R("Minute", 15), "Every 15 minutes"),
        (R("Minute", 1), "Every minute"),
        (R("Day", 1, hours=[6, 18], minutes=[0]), "Every day at 06:00 and 18:00, UTC"),
        (R(cron="*/15 * * * *"), "Cron '*/15 * * * *', UTC"),
        (
            R("Month", 1, time_zone="Europe/Paris", month_days=[1, 15], time_of_day="09:00"),
            "Every month on day 1 and 15 at 09:00, Europe/Paris",
        ),
        (R("Hour", 1, "2020-01-13T12:55:00"), "Every hour from 2020-01-13 12:55, UTC"),
        (R("Month", 1, "2019-11-01T09:00:00"), "Every month on day 1 at 09:00 from 2019-11-01 09:00, UTC"),
        (R("Week", 1, "2026-01-07T08:00"), "Every week on Wednesday at 08:00 from 2026-01-07 08:00, UTC"),
        (R("Day", 3), "Every 3 days at the time of day it was created, UTC"),
        (
            R("Day", 1, hours=[4, 5, 10, 11, 12], minutes=[0, 30], time_zone=TimeZone.PacificStandardTime),
            "Every day at minute 00 and 30 of hour 04, 05, 10, 11 and 12, America/Los_Angeles",
        ),
        (
            R("Day", 1, "2026-01-01T09:00", end_time="2026-02-01T09:00:30", hours=[9]),
            "Every day at 09:00 from 2026-01-01 09:00 until 2026-02-01 09:00:30, UTC",
        ),
    ],
)
def test_describe(recurrence: ScheduleRecurrence, text: str) -> None:
    assert recurrence.describe() == text


# -- serialisation ------------------------------------------------------------------------------

SAMPLES = [
    R("Week", 2, "2019-06-07T10:50:00", TimeZone.UTC, week_days=["Monday", "Wednesday"], time_of_day="18:30"),
    R("Minute", 30, "2026-01-01T00:00", TimeZone.PacificStandardTime),
    R("Hour", 1),
    R("Month", 3, "2026-01-31T09:00", "Europe/Paris", month_days=[1, 31], end_time="2027-01-01T00:00"),
    R("Day", 1, "2026-10-25T01:30:00+00:00", "Europe/Paris"),  # second 02:30 of the fall-back night
    R(cron="30 2 * * 1-5", time_zone="Australia/Lord_Howe", start_time="2026-01-01T00:00"),
]


@pytest.mark.parametrize("recurrence", SAMPLES)
def test_dict_round_trip_through_json(recurrence: ScheduleRecurrence) -> None:
    data = json.loads(json.dumps(recurrence.to_dict()))
    again = R.from_dict(data)
    assert again == recurrence
    assert again.to_dict() == recurrence.to_dict()
    assert hash(again) == hash(recurrence)


@pytest.mark.parametrize("recurrence", SAMPLES)
def test_wire_round_trip(recurrence: ScheduleRecurrence) -> None:
    wire = json.loads(json.dumps(recurrence.to_wire()))
    assert R.from_wire(wire) == recurrence


def test_to_dict_shape() -> None:
    assert SAMPLES[3].to_dict() == {
        "frequency": "Month",
        "interval": 3,
        "start_time": "2026-01-31T09:00:00+01:00",
        "end_time": "2027-01-01T00:00:00+01:00",
        "time_zone": "Europe/Paris",
        "hours": None,
        "minutes": None,
        "week_days": None,
        "month_days": [1, 31],
        "cron": None,
    }


def test_to_wire_matches_azure_v1() -> None:
    assert SAMPLES[0].to_wire() == {
        "Frequency": "Week",
        "Interval": 2,
        "StartTime": "2019-06-07T10:50:00",
        "EndTime": None,
        "TimeZone": "UTC",
        "Schedule": {"Hours": [18], "Minutes": [30], "WeekDays": ["Monday", "Wednesday"], "MonthDays": None},
        "Cron": None,
    }
    wire = SAMPLES[1].to_wire()
    assert (wire["TimeZone"], wire["Schedule"], wire["StartTime"]) == (
        "Pacific Standard Time",
        None,
        "2026-01-01T00:00:00",
    )


def test_wire_keeps_the_offset_of_a_repeated_wall_time() -> None:
    assert SAMPLES[4].to_wire()["StartTime"] == "2026-10-25T02:30:00+01:00"


def test_from_wire_is_case_insensitive_and_accepts_null_schedule_and_ordinals() -> None:
    r = R.from_wire(
        {
            "frequency": "Day",
            "INTERVAL": 1,
            "startTime": "2026-01-01T06:00:00",
            "timezone": "UTC",
            "schedule": None,
        }
    )
    assert r == R("Day", 1, "2026-01-01T06:00:00")
    r = R.from_wire(
        {"Frequency": "1", "Interval": 1, "Schedule": {"weekdays": ["0", 2], "HOURS": [6], "Minutes": [0]}}
    )
    assert r == R("Week", 1, week_days=["Monday", "Wednesday"], hours=[6], minutes=[0])
    assert R.from_wire({"Frequency": 4, "Interval": 5}).frequency is Frequency.MINUTE


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"Frequency": "Day", "Interval": 1, "Bogus": 1}, "Bogus"),
        ({"Frequency": "Day", "Interval": 1, "Schedule": {"Seconds": [1]}}, "Seconds"),
        ({"Frequency": "Day", "Interval": 1, "Schedule": [1]}, "Schedule"),
        ({"Frequency": "Day", "Interval": 0}, "interval"),
        ([1], "recurrence"),
    ],
)
def test_from_wire_errors(data: Any, field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        R.from_wire(data)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("data", "field"),
    [({"frequency": "Day", "interval": 1, "weekdays": ["Monday"]}, "weekdays"), ("x", "recurrence")],
)
def test_from_dict_refuses_unknown_keys(data: Any, field: str) -> None:
    with pytest.raises(ScheduleError) as info:
        R.from_dict(data)
    assert info.value.field == field


def test_from_dict_accepts_time_of_day() -> None:
    assert R.from_dict({"frequency": "Day", "interval": 1, "time_of_day": "06:00"}) == R(
        "Day", 1, hours=[6], minutes=[0]
    )


def test_equality_and_repr() -> None:
    a = R("Week", 1, week_days=["monday"], time_zone="Romance Standard Time")
    b = R("week", 1, week_days=["Monday"], time_zone="Europe/Paris")
    assert a == b and hash(a) == hash(b)
    assert a != R("Week", 2, week_days=["Monday"], time_zone="Europe/Paris")
    assert a != "Week"
    assert (
        repr(a)
        == "ScheduleRecurrence(frequency='Week', interval=1, week_days=['Monday'], time_zone='Europe/Paris')"
    )
