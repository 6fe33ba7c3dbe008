"""Time schedules end to end through the services and the scheduler, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from headrace import ScheduleRecurrence
from headrace.errors import ConflictError, ParameterError, ScheduleError
from headrace.services import endpoints, publishing
from headrace.services import schedules as svc_schedules
from headrace.storage.records import EntityStatus, TickOutcome

from .conftest import T0


def every(minutes: int) -> ScheduleRecurrence:
    return ScheduleRecurrence(frequency="Minute", interval=minutes)


def create(svc, published, **options):
    options.setdefault("recurrence", every(15))
    return svc_schedules.create_schedule(svc, name="every15", experiment_name="sched", published_pipeline_id=published,
                                         **options)


def test_fires_on_each_slot_and_never_at_creation(svc, published, clock, scheduler, runs):
    s = create(svc, published, pipeline_parameters={"when": "@formatDateTime(trigger().scheduledTime, 'yyyy-MM-dd HH:mm')"})
    assert s.next_fire_at == T0 + timedelta(minutes=15)
    sch = scheduler()
    assert sch.run_pending().runs == []
    clock.advance(minutes=14, seconds=59)
    assert sch.run_pending().runs == []
    clock.advance(seconds=1)
    [first] = sch.run_pending().runs
    clock.advance(minutes=15, seconds=3)
    [second] = sch.run_pending().runs
    made = runs.of(s.id)
    assert [r.id for r in made] == [first, second]
    assert [r.parameters["when"] for r in made] == ["2026-03-02 09:15", "2026-03-02 09:30"]
    assert made[0].run_source == "Schedule" and made[0].schedule_id == s.id
    assert made[0].tags["headrace.scheduled_time"] == (T0 + timedelta(minutes=15)).isoformat()
    assert made[0].published_pipeline_id == published and made[0].experiment_name == "sched"
    after = svc.store.get_schedule(s.id)
    assert after.next_fire_at == T0 + timedelta(minutes=45) and after.last_run_id == second
    ticks = svc.store.list_schedule_ticks(s.id)
    assert [t.outcome for t in ticks] == [TickOutcome.FIRED, TickOutcome.FIRED]
    assert ticks[0].run_ids == [second] and ticks[0].cursor_after == (T0 + timedelta(minutes=45)).isoformat()


def test_run_on_create_fires_once_at_once(svc, published, clock, scheduler, runs):
    s = create(svc, published, run_on_create=True)
    [run] = runs.of(s.id)
    assert (s.last_run_id, s.last_fire_at) == (run.id, T0)
    assert scheduler().run_pending().runs == []


def test_failed_run_on_create_leaves_no_schedule(svc, published, clock):
    with pytest.raises(ScheduleError):
        create(svc, published, run_on_create=True,
               pipeline_parameters={"when": "@addDays(trigger().scheduledTime, 99999999)"})
    assert svc.store.list_schedules() == []


@pytest.mark.parametrize(("policy", "expected"), [("latest", 1), ("skip", 0), ("all", 3)])
def test_misfire_after_downtime(svc, published, clock, scheduler, runs, policy, expected):
    s = create(svc, published, misfire=policy, misfire_cap=3)
    clock.advance(hours=2, minutes=5)  # slots 09:15 .. 11:00 were missed (8 of them)
    result = scheduler().run_pending()
    made = runs.of(s.id)
    assert len(result.runs) == len(made) == expected
    assert all(r.tags.get("headrace.catch_up") == "true" for r in made)
    if policy == "latest":
        assert made[0].tags["headrace.scheduled_time"] == (T0 + timedelta(hours=2)).isoformat()
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert f"skipped {8 - expected} missed slot(s) (misfire={policy})" in tick.reason
    assert tick.outcome is (TickOutcome.FIRED if expected else TickOutcome.SKIPPED)
    assert svc.store.get_schedule(s.id).next_fire_at == T0 + timedelta(hours=2, minutes=15)


def test_a_slot_late_within_grace_is_on_time(svc, published, clock, scheduler, runs):
    s = create(svc, published, misfire="skip")
    clock.advance(minutes=15, seconds=50)
    assert len(scheduler(misfire_grace_seconds=60).run_pending().runs) == 1
    assert "headrace.catch_up" not in runs.of(s.id)[0].tags


def test_very_long_downtime_is_bounded(svc, published, clock, scheduler, runs):
    s = create(svc, published, recurrence=every(1))
    clock.advance(days=30)
    result = scheduler().run_pending()
    assert len(result.runs) == 1
    assert svc.store.get_schedule(s.id).next_fire_at == clock.now + timedelta(minutes=1)


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs."""


def test_crash_between_run_and_save_makes_no_second_run(svc, published, clock, scheduler, runs):
    s = create(svc, published)
    clock.advance(minutes=15)

    def die(_record, _run):
        raise Crash

    with pytest.raises(Crash):
        scheduler(after_fire=die).run_pending()
    [made] = runs.of(s.id)
    assert svc.store.get_schedule(s.id).next_fire_at == T0 + timedelta(minutes=15)  # position not saved
    clock.advance(seconds=30)
    assert scheduler().run_pending().runs == []  # the dead owner's lease still holds
    clock.advance(seconds=40)  # lease expired (60 s)
    result = scheduler().run_pending()
    assert result.runs == [made.id]
    assert len(runs.of(s.id)) == 1
    [tick] = svc.store.list_schedule_ticks(s.id)
    assert "already existed" in tick.reason
    assert svc.store.get_schedule(s.id).next_fire_at == T0 + timedelta(minutes=30)


def test_disable_enable_never_catches_up(svc, published, clock, scheduler, runs):
    s = create(svc, published)
    svc_schedules.set_status(svc, s.id, EntityStatus.DISABLED)
    clock.advance(hours=3, minutes=1)
    assert scheduler().run_pending().runs == []
    enabled = svc_schedules.set_status(svc, s.id, EntityStatus.ACTIVE)
    assert enabled.next_fire_at == T0 + timedelta(hours=3, minutes=15)
    assert scheduler().run_pending().runs == []
    assert runs.of(s.id) == []


def test_created_disabled_does_not_fire(svc, published, clock, scheduler, runs):
    s = create(svc, published, status="Disabled")
    clock.advance(hours=1)
    assert scheduler().run_pending().runs == []
    assert svc_schedules.list_schedules(svc, active_only=True) == []
    assert [x.id for x in svc_schedules.list_schedules(svc, active_only=False)] == [s.id]


def test_end_time_stops_firing(svc, published, clock, scheduler, runs):
    rec = ScheduleRecurrence(frequency="Minute", interval=15, start_time=T0.replace(tzinfo=None),
                             end_time=(T0 + timedelta(minutes=30)).replace(tzinfo=None))
    s = create(svc, published, recurrence=rec)
    assert s.next_fire_at == T0  # start_time is the first slot
    sch = scheduler()
    for _ in range(4):
        sch.run_pending()
        clock.advance(minutes=15)
    assert len(runs.of(s.id)) == 3  # 09:00, 09:15, 09:30
    assert svc.store.get_schedule(s.id).next_fire_at is None


def test_cron_schedule(svc, published, clock, scheduler, runs):
    s = create(svc, published, recurrence=None, cron="*/20 9-10 * * *", time_zone="UTC")
    assert s.next_fire_at == T0 + timedelta(minutes=20)  # 09:00, the creation instant, does not fire
    clock.advance(minutes=40)  # 09:20 was missed, 09:40 is on time: only 09:40 runs (misfire=latest)
    scheduler().run_pending()
    times = [r.tags["headrace.scheduled_time"] for r in runs.of(s.id)]
    assert times == [(T0 + timedelta(minutes=40)).isoformat()]
    assert "skipped 1 missed slot(s)" in svc.store.list_schedule_ticks(s.id)[0].reason


def test_update_replaces_parameters_and_recurrence(svc, published, clock, scheduler, runs):
    s = create(svc, published, pipeline_parameters={"n": 5, "when": "a"})
    updated = svc_schedules.update_schedule(svc, s.id, pipeline_parameters={"n": 7}, recurrence=every(60))
    assert updated.parameters == {"n": 7}
    assert updated.next_fire_at == T0 + timedelta(hours=1)
    clock.advance(hours=1)
    scheduler().run_pending()
    [run] = runs.of(s.id)
    assert run.parameters["n"] == 7 and run.parameters["when"] == "never"


def test_disable_published_pipeline_with_active_schedule_names_it(svc, published, clock):
    s = create(svc, published)
    with pytest.raises(ConflictError, match=f"'every15' \\({s.id}\\)"):
        publishing.set_status(svc, published, EntityStatus.DISABLED)
    svc_schedules.set_status(svc, s.id, EntityStatus.DISABLED)
    assert publishing.set_status(svc, published, EntityStatus.DISABLED).status is EntityStatus.DISABLED


def test_delete_needs_disable_first(svc, published, clock, scheduler, runs):
    s = create(svc, published, run_on_create=True)
    with pytest.raises(ConflictError, match="disable it"):
        svc_schedules.delete_schedule(svc, s.id)
    svc_schedules.set_status(svc, s.id, EntityStatus.DISABLED)
    svc_schedules.delete_schedule(svc, s.id)
    assert svc_schedules.list_schedules(svc, active_only=False) == []
    assert len(runs.of(s.id)) == 1  # runs stay


def test_endpoint_schedule_runs_the_default_version_at_fire_time(svc, pipeline, clock, scheduler, runs):
    v0 = publishing.publish_pipeline(svc, pipeline, name="train", version="1").id
    v1 = publishing.publish_pipeline(svc, pipeline, name="train", version="2").id
    ep = endpoints.publish_endpoint(svc, name="train-ep", published_pipeline_id=v0)
    s = svc_schedules.create_schedule(svc, name="ep", experiment_name="sched", pipeline_endpoint_id=ep.id,
                                      recurrence=every(15))
    with pytest.raises(ConflictError, match="'ep'"):
        endpoints.set_status(svc, ep.id, EntityStatus.DISABLED)
    clock.advance(minutes=15)
    scheduler().run_pending()
    endpoints.add_version(svc, ep.id, v1, make_default=True)
    clock.advance(minutes=15)
    scheduler().run_pending()
    assert [(r.published_pipeline_id, r.pipeline_endpoint_version) for r in runs.of(s.id)] == [(v0, "0"), (v1, "1")]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"recurrence": None}, "recurrence"),
        ({"datastore": "workspaceblobstore"}, "recurrence"),
        ({"cron": "61 * * * *", "recurrence": None}, "cron"),
        ({"cron": "* * * * *"}, "cron"),
        ({"recurrence": None, "cron": "* * * * *", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"misfire": "sometimes"}, "misfire"),
        ({"misfire_cap": 0}, "misfire_cap"),
        ({"misfire_cap": 10**30}, "misfire_cap"),
        ({"recurrence": None, "cron": None, "datastore": "workspaceblobstore", "polling_interval": 1e12},
         "polling_interval"),
        ({"status": "Paused"}, "status"),
        ({"pipeline_parameters": {"when": "@nosuch()"}}, "when"),
        ({"path_on_datastore": "incoming"}, "path_on_datastore"),
        ({"data_path_parameter_name": "input_data"}, "data_path_parameter_name"),
        ({"polling": 3}, "polling"),
    ],
)
def test_bad_input_names_the_field(svc, published, clock, options, field):
    with pytest.raises(ScheduleError) as info:
        create(svc, published, **options)
    assert info.value.field == field
    assert svc.store.list_schedules() == []


def test_unknown_parameter_and_wrong_type(svc, published, clock):
    with pytest.raises(ParameterError, match="nope"):
        create(svc, published, pipeline_parameters={"nope": 1})
    with pytest.raises(ParameterError, match="'n'"):
        create(svc, published, pipeline_parameters={"n": "many"})
    with pytest.raises(ScheduleError, match="interval"):
        create(svc, published, recurrence=ScheduleRecurrence(frequency="Minute", interval=0))
    with pytest.raises(ScheduleError, match="interval"):
        ScheduleRecurrence(frequency="Minute", interval=2**62)


def test_dst_nights_in_paris_fire_once_each_day(svc, published, clock, scheduler, runs):
    from datetime import UTC, datetime

    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    rec = ScheduleRecurrence(frequency="Day", interval=1, time_of_day="02:30", time_zone="W. Europe Standard Time")
    s = create(svc, published, recurrence=rec)
    sch = scheduler()
    for _ in range(3 * 24 * 4):  # three days in 15-minute steps, over the spring-forward night
        clock.advance(minutes=15)
        sch.run_pending()
    fired = [r.tags["headrace.scheduled_time"] for r in runs.of(s.id)]
    # 02:30 does not exist on 2026-03-29: that day fires at the jump (03:00 CEST = 01:00 UTC).
    assert fired == ["2026-03-28T01:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
    assert all("headrace.catch_up" not in r.tags for r in runs.of(s.id))
