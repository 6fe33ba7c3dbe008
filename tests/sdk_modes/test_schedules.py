"""Schedules through the SDK, embedded and remote alike: the same records, rules and errors both ways.

No scheduler runs here: what is checked is what create/update/enable/disable/delete store and refuse,
and the one fire that needs no scheduler (``run_on_create=True``).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from headrace import Datastore, PipelineEndpoint, Schedule, ScheduleRecurrence
from headrace.errors import ConflictError, NotFoundError, ScheduleError, UnknownParameterError

from .scripts import contract_pipeline, upload_csv


@pytest.fixture
def published(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    upload_csv(ws, tmp_path, name="old.csv")
    ws.get_default_datastore().upload_files([str(tmp_path / "old.csv")], target_path="incoming", overwrite=True)
    return contract_pipeline(ws, scripts).publish(name="scheduled", version="1")


def _fields(s: Schedule) -> tuple:
    return (s.id, s.name, s.description, s.status, s.pipeline_id, s.pipeline_endpoint_id, s.experiment_name,
            s.recurrence, s.pipeline_parameters, s.misfire, s.misfire_cap, s.next_run_time, s.describe(),
            s.datastore_name, s.path_on_datastore, s.polling_interval, s.data_path_parameter_name)


def test_time_schedules_round_trip(ws, published):
    r = ScheduleRecurrence(frequency="Minute", interval=15)
    s = Schedule.create(ws, name="MyRecurringSchedule", description="Based on time", pipeline_id=published.id,
                        experiment_name="MyExperiment", recurrence=r, pipeline_parameters={"pipeline_arg": 20})
    assert (s.name, s.status, s.provisioning_status, s.recurrence) == ("MyRecurringSchedule", "Active", "Completed", r)
    assert s.describe() == "Every 15 minutes" and s.pipeline_parameters == {"pipeline_arg": 20}
    assert s.datastore_name is None and s.next_run_time is not None
    assert _fields(Schedule.get(ws, s.id)) == _fields(s)

    # A zone no Windows id names exactly, a naive start time (a wall time there) and a pattern come back intact.
    weekly = ScheduleRecurrence("Week", 2, week_days=["Monday", "Wednesday"], time_of_day="18:30",
                                start_time=datetime(2026, 1, 5), time_zone="Europe/Amsterdam")
    w = Schedule.create(ws, name="weekly", pipeline_id=published.id, experiment_name="MyExperiment", recurrence=weekly)
    assert w.recurrence == weekly and w.recurrence.time_zone == "Europe/Amsterdam"
    assert w.next_run_time.strftime("%H:%M %z") in ("18:30 +0100", "18:30 +0200")
    c = Schedule.create(ws, name="cron", pipeline_id=published.id, experiment_name="MyExperiment",
                        cron="*/15 * * * *", time_zone="Pacific Standard Time", misfire="all", misfire_cap=3)
    assert (c.recurrence.cron, c.recurrence.time_zone, c.misfire, c.misfire_cap) == (
        "*/15 * * * *", "America/Los_Angeles", "all", 3)
    assert [x.id for x in Schedule.list(ws)] == [c.id, w.id, s.id]
    assert _fields(Schedule.list(ws)[2]) == _fields(s)


def test_datastore_schedule_round_trip(ws, published):
    s = Schedule.create(ws, name="MyReactiveSchedule", description="Based on input file change.",
                        pipeline_id=published.id, experiment_name="MyExperiment",
                        datastore=Datastore(ws, "workspaceblobstore"), path_on_datastore="incoming",
                        polling_interval=5, data_path_parameter_name="input_data")
    assert (s.datastore_name, s.path_on_datastore, s.polling_interval, s.data_path_parameter_name) == (
        "workspaceblobstore", "incoming", 5, "input_data")
    assert s.recurrence is None and (s.recursive, s.batch) == (False, False)
    assert s.describe() == "When a file is added or changed in workspaceblobstore/incoming, every 5 min"
    assert _fields(Schedule.get(ws, s.id)) == _fields(s)
    s.update(polling_interval=0.5, recursive=True)
    assert (s.polling_interval, s.recursive) == (0.5, True)
    with pytest.raises(ScheduleError) as info:
        s.update(recurrence=ScheduleRecurrence("Hour", 1))
    assert info.value.field == "recurrence"


def test_list_filters_update_enable_disable_and_delete(ws, published):
    ep = PipelineEndpoint.publish(workspace=ws, name="ScheduledEndpoint", pipeline=published, description="")
    on_pipeline = Schedule.create(ws, name="p", pipeline_id=published.id, experiment_name="E",
                                  recurrence=ScheduleRecurrence("Hour", 1))
    on_endpoint = Schedule.create_for_pipeline_endpoint(ws, name="e", pipeline_endpoint_id=ep.id,
                                                        experiment_name="E", cron="0 6 * * *", status="Disabled")
    assert on_endpoint.status == "Disabled" and on_endpoint.next_run_time is None
    assert on_endpoint.pipeline_endpoint_id == ep.id and on_endpoint.pipeline_id is None
    assert [x.id for x in Schedule.list(ws)] == [on_pipeline.id]
    assert [x.id for x in Schedule.list(ws, active_only=False)] == [on_endpoint.id, on_pipeline.id]
    assert [x.id for x in Schedule.list(ws, pipeline_endpoint_id=ep.id)] == [on_endpoint.id]  # active_only ignored
    assert [x.id for x in Schedule.list(ws, pipeline_id=published.id)] == [on_pipeline.id]

    on_pipeline.update(name="renamed", recurrence=ScheduleRecurrence("Day", 1, time_of_day="07:00"),
                       pipeline_parameters={"pipeline_arg": 7}, description="daily")
    again = Schedule.get(ws, on_pipeline.id)
    assert (again.name, again.description, again.pipeline_parameters) == ("renamed", "daily", {"pipeline_arg": 7})
    assert again.describe() == "Every day at 07:00, UTC" and again.next_run_time.strftime("%H:%M") == "07:00"

    with pytest.raises(ConflictError, match="renamed"):
        published.disable()  # an active schedule points at it
    on_pipeline.disable()
    assert on_pipeline.status == "Disabled" and on_pipeline.next_run_time is None
    on_pipeline.enable()
    assert Schedule.get(ws, on_pipeline.id).status == "Active"
    with pytest.raises(ConflictError, match="disable it before deleting it"):
        on_pipeline.delete()
    on_pipeline.disable()
    on_pipeline.delete()
    with pytest.raises(NotFoundError):
        Schedule.get(ws, on_pipeline.id)
    published.disable()  # nothing active points at it any more


@pytest.mark.parametrize(("options", "field"), [
    ({"cron": "every day"}, "cron"),
    ({"cron": "* * * * *", "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"cron": "* * * * *", "start_time": "yesterday"}, "start_time"),
    ({"cron": "* * * * *", "misfire": "sometimes"}, "misfire"),
    ({"cron": "* * * * *", "status": "Paused"}, "status"),
    ({"datastore": "workspaceblobstore", "data_path_parameter_name": "pipeline_arg"}, "data_path_parameter_name"),
    ({"datastore": "workspaceblobstore", "polling_interval": 0}, "polling_interval"),
    ({"datastore": "workspaceblobstore", "path_on_datastore": "incoming/old.csv"}, "path_on_datastore"),  # a file
    ({"recurrence": ScheduleRecurrence("Hour", 1), "path_on_datastore": "incoming"}, "path_on_datastore"),
    ({}, "recurrence"),
])
def test_bad_input_raises_schedule_error_naming_the_field(ws, published, options, field):
    with pytest.raises(ScheduleError) as info:
        Schedule.create(ws, name="bad", pipeline_id=published.id, experiment_name="E", **options)
    assert info.value.field == field and str(info.value).startswith(f"{field}: ")


def test_unknown_targets_and_parameters(ws, published):
    with pytest.raises(NotFoundError):
        Schedule.create(ws, name="x", pipeline_id="nope", experiment_name="E", cron="* * * * *")
    with pytest.raises(NotFoundError, match="nope"):
        Schedule.create(ws, name="x", pipeline_id=published.id, experiment_name="E", datastore="nope")
    with pytest.raises(UnknownParameterError, match="valid parameters: input_data, pipeline_arg"):
        Schedule.create(ws, name="x", pipeline_id=published.id, experiment_name="E", cron="* * * * *",
                        pipeline_parameters={"nope": 1})
    with pytest.raises(NotFoundError):
        Schedule.get(ws, "nope")


def test_run_on_create_and_the_runs_of_a_schedule(ws, published):
    s = Schedule.create(ws, name="now", pipeline_id=published.id, experiment_name="Scheduled",
                        recurrence=ScheduleRecurrence("Week", 1), pipeline_parameters={"pipeline_arg": 3},
                        run_on_create=True)
    last = s.get_last_pipeline_run()
    assert last is not None and last.wait_for_completion(show_output=False) == "Finished"
    assert [r.id for r in s.get_pipeline_runs()] == [last.id]
    record = last._record
    assert (record.schedule_id, record.run_source, record.experiment_name) == (s.id, "Schedule", "Scheduled")
    assert record.parameters["pipeline_arg"] == 3 and record.tags["headrace.trigger"] == "create"
    assert "n=3" in last.find_step_run("prep")[0].get_stdout_log()
    assert s.get_ticks() == []  # no scheduler evaluated it yet
    quiet = Schedule.create(ws, name="quiet", pipeline_id=published.id, experiment_name="Scheduled",
                            cron="0 0 1 1 *")
    assert quiet.get_last_pipeline_run() is None and quiet.get_pipeline_runs() == []


def test_schedules_by_pipeline_and_endpoint_and_the_notebook_update(ws, published, tmp_path):
    ep = PipelineEndpoint.publish(workspace=ws, name="ScheduledEndpoint", pipeline=published, description=None)
    daily = ScheduleRecurrence(frequency="Day", interval=2, hours=[22], minutes=[30])
    on_pipeline = Schedule.create(workspace=ws, name="My_Schedule", pipeline_id=published.id,
                                  experiment_name="Schedule-run-sample", recurrence=daily,
                                  wait_for_provisioning=True, description="Schedule Run")
    on_endpoint = Schedule.create_for_pipeline_endpoint(
        workspace=ws, name="My_Endpoint_Schedule", pipeline_endpoint_id=ep.id, experiment_name="Schedule-run-sample",
        recurrence=daily, description="Schedule_Run", wait_for_provisioning=True)
    on_pipeline.disable(wait_for_provisioning=True)
    assert [s.id for s in Schedule.get_schedules_for_pipeline_id(ws, pipeline_id=published.id)] == [on_pipeline.id]
    assert [s.id for s in Schedule.get_schedules_for_pipeline_endpoint_id(ws, pipeline_endpoint_id=ep.id)] == [
        on_endpoint.id]
    assert Schedule.get_schedules_for_pipeline_id(ws, pipeline_id="nope") == []

    fetched = Schedule.get(ws, on_pipeline.id)
    fetched.update(name="My_Updated_Schedule", description="Updated_Schedule_Run", status="Active",
                   wait_for_provisioning=True, recurrence=ScheduleRecurrence(frequency="Hour", interval=2))
    again = Schedule.get(ws, fetched.id)
    assert (again.name, again.description, again.status, again.recurrence.frequency) == (
        "My_Updated_Schedule", "Updated_Schedule_Run", "Active", "Hour")

    # A reactive schedule on the whole datastore, and one on a folder that does not exist yet.
    whole = Schedule.create(workspace=ws, name="My_Schedule", pipeline_id=published.id,
                            experiment_name="Schedule-run-sample", datastore=Datastore(workspace=ws, name="workspaceblobstore"),
                            wait_for_provisioning=True, description="Schedule Run")
    later = Schedule.create(ws, name="later", pipeline_id=published.id, experiment_name="e",
                            datastore="workspaceblobstore", path_on_datastore="sample_datapath_for_folder",
                            data_path_parameter_name="input_data")
    assert whole.datastore_name == "workspaceblobstore" and later.path_on_datastore == "sample_datapath_for_folder"
    assert {s.id for s in Schedule.list(ws, pipeline_id=published.id)} >= {whole.id, later.id, on_pipeline.id}
