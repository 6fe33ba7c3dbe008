"""Time-zone resolution: Azure's Windows ids (enum and strings) and IANA names."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from tzlocal.windows_tz import win_tz

from headrace.core.timezones import TimeZone, resolve_zone, windows_id, wire_zone_name, zone_name
from headrace.errors import ScheduleError


def test_enum_has_one_member_per_windows_id() -> None:
    assert len(TimeZone) == len(win_tz)
    assert {m.value for m in TimeZone} == set(win_tz)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        (TimeZone.UTC, "UTC"),
        (TimeZone.PacificStandardTime, "Pacific Standard Time"),
        (TimeZone.WEuropeStandardTime, "W. Europe Standard Time"),
        (TimeZone.UTC11, "UTC-11"),
        (TimeZone.UTC12, "UTC+12"),
    ],
)
def test_member_names_follow_the_azure_sdk(member: TimeZone, value: str) -> None:
    assert member.value == value
    assert member == value  # a str enum


@pytest.mark.parametrize(
    ("given", "key"),
    [
        (None, "UTC"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/UTC", "UTC"),
        ("Zulu", "UTC"),
        (TimeZone.UTC, "UTC"),
        (TimeZone.PacificStandardTime, "America/Los_Angeles"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("pacific standard time", "America/Los_Angeles"),
        ("  W. Europe Standard Time ", "Europe/Berlin"),
        ("WEuropeStandardTime", "Europe/Berlin"),  # the member name works too
        ("UTC-11", "Etc/GMT+11"),
        ("Romance Standard Time", "Europe/Paris"),
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("Australia/Lord_Howe", "Australia/Lord_Howe"),
        (ZoneInfo("Asia/Tokyo"), "Asia/Tokyo"),
    ],
)
def test_resolve_zone(given: object, key: str) -> None:
    assert resolve_zone(given).key == key
    assert zone_name(given) == key


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../etc/passwd", "Pacific Time", 5, 1.5, ["UTC"]])
def test_unknown_zone_is_a_schedule_error_with_examples(bad: object) -> None:
    with pytest.raises(ScheduleError) as info:
        resolve_zone(bad)
    assert info.value.field == "time_zone"
    assert repr(bad) in str(info.value)
    assert "Europe/Paris" in str(info.value)


def test_error_field_is_the_callers() -> None:
    with pytest.raises(ScheduleError) as info:
        resolve_zone("nowhere", field="zone")
    assert info.value.field == "zone"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (TimeZone.UTC11, "UTC-11"),
        ("pacific standard time", "Pacific Standard Time"),
        ("Europe/Paris", None),
        (3, None),
    ],
)
def test_windows_id(given: object, expected: str | None) -> None:
    assert windows_id(given) == expected


@pytest.mark.parametrize(
    ("zone", "given", "expected"),
    [
        ("Europe/Berlin", "w. europe standard time", "W. Europe Standard Time"),
        ("Europe/Paris", "Europe/Paris", "Romance Standard Time"),
        ("UTC", None, "UTC"),
        ("America/Los_Angeles", None, "Pacific Standard Time"),
    ],
)
def test_wire_zone_name_prefers_windows_ids(zone: str, given: str | None, expected: str) -> None:
    assert wire_zone_name(ZoneInfo(zone), given) == expected
