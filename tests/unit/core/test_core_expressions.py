"""Fire-time parameter expressions: the supported functions, .NET formats, and strict errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from headrace import clock
from headrace.core.expressions import TriggerContext, evaluate, is_expression, validate_expression
from headrace.errors import ScheduleError

SCHEDULED = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # the Paris spring-forward instant, a Sunday
STARTED = datetime(2026, 3, 29, 1, 0, 2, 500000, tzinfo=UTC)
CTX = TriggerContext(scheduled_time=SCHEDULED, start_time=STARTED, run_id="run-42")


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    yield
    clock.set_clock(None)


@pytest.mark.parametrize("value", ["plain", "", "a@b", 5, 1.5, None, True, ["@runId()"], {"x": "@runId()"}])
def test_non_expressions_pass_through(value: Any) -> None:
    assert evaluate(value, CTX) == value
    validate_expression(value, "p")  # no error


@pytest.mark.parametrize(("value", "expected"), [("@@runId()", "@runId()"), ("@@", "@"), ("@@@x", "@@x")])
def test_double_at_escapes_a_literal(value: str, expected: str) -> None:
    assert evaluate(value, CTX) == expected
    assert not is_expression(value)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("@trigger().scheduledTime", "2026-03-29T01:00:00.0000000Z"),
        ("@trigger().startTime", "2026-03-29T01:00:02.5000000Z"),
        ("@runId()", "run-42"),
        ("@createdBy()", "schedule"),
        ("@formatDateTime(trigger().scheduledTime)", "2026-03-29T01:00:00.0000000Z"),
        ("@formatDateTime(trigger().scheduledTime, 'yyyy-MM-dd')", "2026-03-29"),
        ("@formatDateTime(addDays(trigger().scheduledTime,-1),'yyyy-MM-dd')", "2026-03-28"),
        ("@ formatDateTime ( addDays ( trigger ( ) . scheduledTime , -1 ) , 'yyyyMMdd' ) ", "20260328"),
        ("@addDays(trigger().scheduledTime, 3)", "2026-04-01T01:00:00.0000000Z"),
        ("@addHours(trigger().scheduledTime, -2, 'HH:mm')", "23:00"),
        ("@addMinutes(trigger().scheduledTime, 90, 's')", "2026-03-29T02:30:00"),
        ("@addSeconds(trigger().scheduledTime, 61, 'HH:mm:ss')", "01:01:01"),
        ("@addToTime(trigger().scheduledTime, 1, 'Month', 'yyyy-MM-dd')", "2026-04-29"),
        ("@subtractFromTime('2024-03-31T00:00:00Z', 1, 'Month', 'yyyy-MM-dd')", "2024-02-29"),
        ("@addToTime(trigger().scheduledTime, 2, 'Week', 'yyyy-MM-dd')", "2026-04-12"),
        ("@startOfDay(trigger().startTime)", "2026-03-29T00:00:00.0000000Z"),
        ("@startOfHour(trigger().startTime, 'HH:mm:ss.fff')", "01:00:00.000"),
        ("@startOfMonth(trigger().scheduledTime, 'u')", "2026-03-01 00:00:00Z"),
        ("@convertFromUtc(trigger().scheduledTime, 'Europe/Paris')", "2026-03-29T03:00:00.0000000"),
        ("@convertFromUtc(trigger().scheduledTime, 'Romance Standard Time', 'HH:mm')", "03:00"),
        (
            "@convertFromUtc(trigger().scheduledTime, 'pacific standard time', 'yyyy-MM-dd HH:mm')",
            "2026-03-28 18:00",
        ),
        ("@convertToUtc('2026-03-29T02:30:00', 'Europe/Paris')", "2026-03-29T01:00:00.0000000Z"),
        ("@convertTimeZone('2026-01-01T12:00:00', 'Europe/Paris', 'Asia/Tokyo', 'HH:mm')", "20:00"),
        ("@dayOfMonth(trigger().scheduledTime)", 29),
        ("@dayOfWeek(trigger().scheduledTime)", 0),  # Sunday = 0
        ("@dayOfWeek('2026-03-30T00:00:00Z')", 1),
        ("@dayOfYear(trigger().scheduledTime)", 88),
        ("@'it''s'", "it's"),
        ("@-7", -7),
    ],
)
def test_evaluate(expression: str, expected: Any) -> None:
    validate_expression(expression, "p")
    assert evaluate(expression, CTX, name="p") == expected


def test_utc_now_reads_the_clock(frozen_clock: None) -> None:
    assert evaluate("@utcNow()", CTX) == "2026-01-02T03:04:05.6780000Z"
    assert evaluate("@utcNow('yyyy')", CTX) == "2026"


def test_naive_context_times_are_utc() -> None:
    ctx = TriggerContext(datetime(2026, 1, 1, 6), datetime(2026, 1, 1, 6), "r")
    assert evaluate("@trigger().scheduledTime", ctx) == "2026-01-01T06:00:00.0000000Z"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("o", "2026-07-04T15:06:07.1234560+02:00"),
        ("s", "2026-07-04T15:06:07"),
        ("u", "2026-07-04 13:06:07Z"),
        ("r", "Sat, 04 Jul 2026 13:06:07 GMT"),
        ("yyyy yy MM M dd d", "2026 26 07 7 04 4"),
        ("HH H hh h mm ss", "15 15 03 3 06 07"),
        ("fff ffffff FFFFFFF", "123 123456 123456"),
        ("tt t", "PM P"),
        ("MMM MMMM ddd dddd", "Jul July Sat Saturday"),
        ("K zzz zz z", "+02:00 +02:00 +02 +2"),
        ("'yyyy' \\H \"at\" HH%", "yyyy H at 15"),
        ("%d", "4"),
        ("yyyy-MM-ddTHH:mm", "2026-07-04T15:06"),
    ],
)
def test_dotnet_formats(fmt: str, expected: str) -> None:
    ts = "2026-07-04T15:06:07.123456+02:00"
    assert evaluate(f"@formatDateTime('{ts}', '{fmt.replace(chr(39), chr(39) * 2)}')", CTX) == expected


def test_round_trip_format_of_a_time_without_offset_has_no_suffix() -> None:
    assert evaluate("@formatDateTime('2026-07-04T15:06:07')", CTX) == "2026-07-04T15:06:07.0000000"


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("@adddays(trigger().scheduledTime, 1)", "unknown function 'adddays'; did you mean 'addDays'?"),
        ("@frobnicate()", "unknown function 'frobnicate'"),
        ("@addDays(trigger().scheduledTime)", "addDays() takes 2 to 3 argument(s), got 1"),
        ("@runId(1)", "runId() takes 0 argument(s), got 1"),
        ("@trigger().endTime", "trigger() has no property 'endTime'; available: scheduledTime, startTime"),
        ("@runId().x", "runId() has no property 'x'"),
        ("@trigger", "'trigger' must be called"),
        ("@", "unexpected end of expression"),
        ("@addDays(trigger().scheduledTime, 1", "unexpected end of expression"),
        ("@addDays(trigger().scheduledTime 1)", "expected ',' or ')'"),
        ("@runId() runId()", "one term per value"),
        ("@formatDateTime('2026-01-01", "unterminated 'string'"),
        ("@runId()#", "unexpected '#'"),
        ("@(1)", "expected a function call"),
        ("@trigger().1", "expected a property name"),
        ("@formatDateTime(trigger().scheduledTime, 'd')", "unsupported standard format 'd'"),
        ("@formatDateTime(trigger().scheduledTime, 'ffffffff')", "at most 7 'f'"),
        ("@formatDateTime(trigger().scheduledTime, '''x')", "unterminated quote"),
        ("@convertFromUtc(trigger().scheduledTime, 'Mars/Olympus')", "unknown time zone 'Mars/Olympus'"),
        ("@" + "addDays(" * 40 + "'x'" + ", 1)" * 40, "nested deeper"),
    ],
)
def test_malformed_expressions_fail_at_validation_and_evaluation(expression: str, fragment: str) -> None:
    for check in (
        lambda: validate_expression(expression, "when"),
        lambda: evaluate(expression, CTX, name="when"),
    ):
        with pytest.raises(ScheduleError) as info:
            check()
        assert info.value.field == "when"
        assert fragment in str(info.value)
        assert "at position" in str(info.value)


def test_error_names_the_position() -> None:
    expression = "@formatDateTime(addDays('x', adday(1)))"
    with pytest.raises(
        ScheduleError, match=rf"at position {expression.index('adday')}: unknown function 'adday'"
    ):
        evaluate(expression, CTX, name="p")


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("@addDays('yesterday', 1)", "addDays(): 'yesterday' is not an ISO 8601 timestamp"),
        ("@addDays(trigger().scheduledTime, '1')", "addDays(): '1' is not an integer"),
        ("@addToTime(trigger().scheduledTime, 1, 'Fortnight')", "'Fortnight' is not a time unit"),
        ("@formatDateTime(trigger().scheduledTime, 5)", "format 5 must be a string"),
        ("@convertFromUtc(trigger().scheduledTime, runId())", "unknown time zone 'run-42'"),
        ("@addDays(trigger().scheduledTime, 99999999)", "addDays()"),
    ],
)
def test_runtime_errors_are_schedule_errors(expression: str, fragment: str) -> None:
    validate_expression(expression, "p")  # only detectable when evaluating
    with pytest.raises(ScheduleError) as info:
        evaluate(expression, CTX, name="p")
    assert info.value.field == "p"
    assert fragment in str(info.value)


def test_trigger_context_is_frozen() -> None:
    with pytest.raises(AttributeError):
        CTX.run_id = "other"  # type: ignore[misc]
    assert CTX.created_by == "schedule"


@pytest.mark.parametrize(
    ("value", "expected"), [("@runId()", True), ("@@x", False), ("x", False), (3, False)]
)
def test_is_expression(value: Any, expected: bool) -> None:
    assert is_expression(value) is expected
