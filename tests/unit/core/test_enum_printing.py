"""Values that are plain strings in Azure ML print as those strings (`Hour`, not `Frequency.HOUR`)."""

from __future__ import annotations

from headrace import ScheduleRecurrence
from headrace.storage.records import EntityStatus, RunStatus, StepStatus


def test_recurrence_fields_print_like_azure_strings():
    r = ScheduleRecurrence(frequency="hour", interval=2)
    assert (str(r.frequency), f"{r.frequency}", repr(r.frequency), "{}".format(r.frequency)) == (  # noqa: UP032
        "Hour", "Hour", "'Hour'", "Hour")
    assert r.frequency == "Hour"
    week = ScheduleRecurrence(frequency="Week", interval=1, week_days=["monday"])
    assert repr(week.week_days) == "['Monday']" and f"every {week.frequency}" == "every Week"


def test_statuses_print_their_value():
    for status in (RunStatus.FINISHED, StepStatus.RUNNING, EntityStatus.ACTIVE):
        assert str(status) == f"{status}" == status.value
    assert f"status: {RunStatus.NOT_STARTED}" == "status: NotStarted"
