"""Schedule routes (``/api/v1/schedules``) on a live server: Azure v1 bodies in and out, errors, roles.

The live server runs no scheduler; the reactive example drives one pass by hand (``Scheduler.run_pending``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from headrace.services import endpoints
from headrace.services.scheduler import Scheduler


def every_15(published: str, **extra) -> dict:
    return {"Name": "MyRecurringSchedule", "Description": "Based on time", "PipelineId": published,
            "Recurrence": {"Frequency": "Minute", "Interval": 15},
            "PipelineSubmissionInfo": {"ExperimentName": "MyExperiment", "ParameterAssignments": {"pipeline_arg": 20}},
            **extra}


def reactive(published: str, **watch) -> dict:
    info = {"DataStoreName": "workspaceblobstore", "PathOnDataStore": "incoming", "PollingInterval": 5,
            "DataPathParameterName": "input_data", **watch}
    return {"Name": "MyReactiveSchedule", "Description": "Based on input file change.", "PipelineId": published,
            "DataStoreTriggerInfo": info, "PipelineSubmissionInfo": {"ExperimentName": "MyExperiment"}}


@pytest.fixture
def incoming(live):
    folder = live.svc.home / "datastores" / "workspaceblobstore" / "incoming"
    folder.mkdir(parents=True)
    (folder / "old.csv").write_text("a,b\n1,2\n")
    return folder


def _create(live, body: dict, role: str = "admin") -> dict:
    r = live.client(role).post("/schedules", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_every_15_minutes(live, published):
    s = _create(live, every_15(published))
    assert (s["Name"], s["Description"], s["PipelineId"], s["PipelineEndpointId"]) == (
        "MyRecurringSchedule", "Based on time", published, None)
    assert (s["EntityStatus"], s["ProvisioningStatus"], s["ScheduleType"]) == ("Active", "Completed", "Recurrence")
    assert s["Recurrence"]["Frequency"] == "Minute" and s["Recurrence"]["Interval"] == 15
    assert s["Recurrence"]["TimeZone"] == "UTC" and s["DataStoreTriggerInfo"] is None
    assert s["Trigger"] == "Every 15 minutes" and s["Misfire"] == "latest"
    assert s["PipelineSubmissionInfo"]["ExperimentName"] == "MyExperiment"
    assert s["PipelineSubmissionInfo"]["ParameterAssignments"] == {"pipeline_arg": 20}
    created, next_run = datetime.fromisoformat(s["CreatedDate"]), datetime.fromisoformat(s["NextRunTime"])
    assert next_run - created == timedelta(minutes=15)
    reader = live.client("reader")
    assert reader.get(f"/schedules/{s['Id']}").json() == s
    assert [x["Id"] for x in reader.get("/schedules").json()["Value"]] == [s["Id"]]
    assert [x["Id"] for x in reader.get("/schedules", params={"pipelineId": published}).json()["Value"]] == [s["Id"]]
    assert [x["Id"] for x in reader.get(f"/schedules/pipeline/{published}").json()["Value"]] == [s["Id"]]
    assert reader.get("/schedules", params={"pipelineEndpointId": "other"}).json()["Value"] == []
    assert reader.get(f"/schedules/{s['Id']}/runs").json()["Value"] == []
    assert reader.get(f"/schedules/{s['Id']}/ticks").json() == {"Value": [], "ContinuationToken": None}


def test_keys_are_case_insensitive_and_cron_and_zones_come_back(live, published):
    body = {"name": "nightly", "pipelineid": published, "cron": "30 2 * * 1-5", "timezone": "W. Europe Standard Time",
            "pipelinesubmissioninfo": {"experimentname": "Nightly"}}
    s = _create(live, body)
    assert s["Recurrence"]["Cron"] == "30 2 * * 1-5" and s["Recurrence"]["Frequency"] is None
    assert s["Recurrence"]["TimeZone"] == "W. Europe Standard Time"
    assert s["Trigger"] == "Cron '30 2 * * 1-5', Europe/Berlin"
    assert s["NextRunTime"].endswith(("+01:00", "+02:00"))  # in the schedule's zone
    weekly = {"Frequency": "Week", "Interval": 1, "StartTime": "2026-01-05T00:00:00", "TimeZone": "Europe/Paris",
              "Schedule": {"WeekDays": ["Monday"], "Hours": [9], "Minutes": [30]}}
    w = _create(live, {**every_15(published), "Recurrence": weekly})
    assert w["Recurrence"]["Schedule"] == {"Hours": [9], "Minutes": [30], "WeekDays": ["Monday"], "MonthDays": None}
    assert w["Recurrence"]["StartTime"] == "2026-01-05T00:00:00" and w["Recurrence"]["TimeZone"] == "Romance Standard Time"
    assert w["Trigger"] == "Every week on Monday at 09:30 from 2026-01-05 00:00, Europe/Paris"
    assert datetime.fromisoformat(w["NextRunTime"]).strftime("%A %H:%M") == "Monday 09:30"
    # A zone that no Windows id names exactly comes back by its IANA name, so a PUT of the read keeps it.
    ams = _create(live, {**every_15(published), "Recurrence": {**weekly, "TimeZone": "Europe/Amsterdam"}})
    assert ams["Recurrence"]["TimeZone"] == "Europe/Amsterdam"


def test_update_enable_disable_delete(live, published):
    s = _create(live, every_15(published))
    sub, admin, reader = live.client("admin"), live.client("admin"), live.client("reader")
    url = f"/schedules/{s['Id']}"
    same = sub.put(url, json=s)  # read-modify-write of the whole entity: nothing changes
    assert same.status_code == 200, same.text
    assert same.json()["NextRunTime"] == s["NextRunTime"]
    changed = sub.put(url, json={"Recurrence": {"Frequency": "Hour", "Interval": 2},
                                 "PipelineSubmissionInfo": {"ParameterAssignments": {"tag": "x"}}}).json()
    assert changed["Trigger"] == "Every 2 hours"
    assert changed["PipelineSubmissionInfo"]["ParameterAssignments"] == {"tag": "x"}  # replaced, not merged
    assert sub.patch(url, json={"name": "renamed"}).json()["Name"] == "renamed"
    moved = sub.put(url, json={"PipelineSubmissionInfo": {"ExperimentName": "Other"}})
    assert moved.status_code == 400 and moved.json()["Error"]["Target"] == "experiment_name"

    off = sub.post(f"{url}/disable").json()
    assert off["EntityStatus"] == "Disabled" and off["NextRunTime"] is None
    assert reader.get("/schedules").json()["Value"] == []
    assert [x["Id"] for x in reader.get("/schedules", params={"activeOnly": "false"}).json()["Value"]] == [s["Id"]]
    on = sub.post(f"{url}/enable").json()
    assert on["EntityStatus"] == "Active" and on["NextRunTime"] is not None

    busy = admin.delete(url)
    assert busy.status_code == 409 and "disable it before deleting it" in busy.json()["Error"]["Message"]
    sub.post(f"{url}/disable")
    assert admin.delete(url).status_code == 204
    assert reader.get(url).status_code == 404


def test_reactive_schedule_fires_on_a_new_file(live, published, incoming):
    s = _create(live, reactive(published, PollingInterval=1 / 60))
    assert (s["ScheduleType"], s["Recurrence"]) == ("DataStore", None)
    assert s["DataStoreTriggerInfo"] == {"DataStoreName": "workspaceblobstore", "PollingInterval": 1 / 60,
                                         "DataPathParameterName": "input_data", "PathOnDataStore": "incoming",
                                         "Recursive": False, "Batch": False}
    assert s["Trigger"] == "When a file is added or changed in workspaceblobstore/incoming, every 1 s"
    (incoming / "new.csv").write_text("a,b\n3,4\n")
    scheduler = Scheduler(live.svc)
    reader = live.client("reader")
    deadline = datetime.fromisoformat(s["NextRunTime"]) + timedelta(seconds=10)
    while not reader.get(f"/schedules/{s['Id']}/runs").json()["Value"]:
        assert datetime.now(deadline.tzinfo) < deadline, "the schedule never fired"
        scheduler.run_pending()
    [run] = reader.get(f"/schedules/{s['Id']}/runs").json()["Value"]
    assert run["ScheduleId"] == s["Id"] and run["RunSource"] == "Schedule"
    assert run["DataPathAssignments"]["input_data"] == {"DataStoreName": "workspaceblobstore",
                                                       "RelativePath": "incoming/new.csv"}
    assert live.wait_run(run["Id"])["Status"] == "Finished"
    assert live.seen("default")["content"] == "a,b\n3,4\n"
    [tick] = [t for t in reader.get(f"/schedules/{s['Id']}/ticks").json()["Value"] if t["Outcome"] == "fired"]
    assert tick["RunIds"] == [run["Id"]] and tick["ScheduleId"] == s["Id"]
    assert reader.get(f"/schedules/{s['Id']}").json()["LastRunId"] == run["Id"]


def test_run_on_create_fires_once_at_once(live, published):
    s = _create(live, {**every_15(published), "RunOnCreate": True})
    [run] = live.client("reader").get(f"/schedules/{s['Id']}/runs", params={"limit": 5}).json()["Value"]
    assert run["ParameterAssignments"]["pipeline_arg"] == 20 and run["ExperimentName"] == "MyExperiment"
    assert live.wait_run(run["Id"])["Status"] == "Finished"


@pytest.mark.parametrize(("change", "target"), [
    ({"Recurrence": None, "Cron": "every day"}, "cron"),
    ({"Recurrence": {"Frequency": "Minute", "Interval": 15, "TimeZone": "Mars/Olympus"}}, "time_zone"),
    ({"Recurrence": {"Frequency": "Minute", "Interval": 0}}, "interval"),
    ({"Recurrence": {"Frequency": "Fortnight", "Interval": 1}}, "frequency"),
    ({"Recurrence": {"Frequency": "Day", "Interval": 1, "Schedule": {"Hourz": [1]}}}, "Hourz"),
    ({"Misfire": "sometimes"}, "misfire"),
    ({"Status": "Paused"}, "status"),
    ({"DataStoreTriggerInfo": {"DataStoreName": "workspaceblobstore"}}, "recurrence"),
])
def test_bad_time_schedules_are_400_naming_the_field(live, published, change, target):
    r = live.client("admin").post("/schedules", json={**every_15(published), **change})
    assert r.status_code == 400, r.text
    error = r.json()["Error"]
    assert (error["Code"], error["Target"]) == ("InvalidSchedule", target)
    assert error["Message"].startswith(f"{target}: ")


@pytest.mark.parametrize(("watch", "target", "code"), [
    ({"DataPathParameterName": "pipeline_arg"}, "data_path_parameter_name", "InvalidSchedule"),
    ({"PathOnDataStore": "incoming/old.csv"}, "path_on_datastore", "InvalidSchedule"),  # a file, not a folder
    ({"PollingInterval": 0}, "polling_interval", "InvalidSchedule"),
    ({"PollingInterval": "often"}, "DataStoreTriggerInfo.PollingInterval", "BadRequest"),
])
def test_bad_reactive_schedules_are_400_naming_the_field(live, published, incoming, watch, target, code):
    r = live.client("admin").post("/schedules", json=reactive(published, **watch))
    assert r.status_code == 400, r.text
    assert (r.json()["Error"]["Code"], r.json()["Error"]["Target"]) == (code, target)


def test_unknown_parameter_is_400(live, published):
    body = every_15(published)
    body["PipelineSubmissionInfo"]["ParameterAssignments"] = {"nope": 1}
    r = live.client("admin").post("/schedules", json=body)
    assert r.status_code == 400 and r.json()["Error"]["Code"] == "UnknownParameter"
    assert r.json()["Error"]["Target"] == "nope"


def test_unknown_pipeline_endpoint_datastore_or_schedule_is_404(live, published, incoming):
    sub = live.client("admin")
    assert sub.post("/schedules", json=every_15("nope")).status_code == 404
    assert sub.post("/schedules", json={**every_15(None), "PipelineEndpointId": "nope"}).status_code == 404
    unknown_store = sub.post("/schedules", json=reactive(published, DataStoreName="nope"))
    assert unknown_store.status_code == 404 and "nope" in unknown_store.json()["Error"]["Message"]
    for path in ("/schedules/nope", "/schedules/nope/runs", "/schedules/nope/ticks", "/schedules/pipeline/nope",
                 "/schedules/pipeline-endpoint/nope"):
        assert live.client("reader").get(path).status_code == 404, path
    assert sub.post("/schedules/nope/enable").status_code == 404
    assert live.client("admin").delete("/schedules/nope").status_code == 404


def test_disabling_a_scheduled_pipeline_or_endpoint_is_409_naming_the_schedule(live, published):
    s = _create(live, every_15(published))
    admin = live.client("admin")
    r = admin.post(f"/pipelines/{published}/disable")
    assert r.status_code == 409 and "MyRecurringSchedule" in r.json()["Error"]["Message"]
    ep = endpoints.publish_endpoint(live.svc, name="ep", published_pipeline_id=published)
    on_ep = _create(live, {**every_15(None), "Name": "OnEndpoint", "PipelineEndpointId": ep.id})
    assert on_ep["PipelineEndpointId"] == ep.id and on_ep["PipelineId"] is None
    assert [x["Id"] for x in admin.get(f"/schedules/pipeline-endpoint/{ep.id}").json()["Value"]] == [on_ep["Id"]]
    r = admin.post(f"/pipeline-endpoints/{ep.id}/disable")
    assert r.status_code == 409 and "OnEndpoint" in r.json()["Error"]["Message"]
    admin.post(f"/schedules/{s['Id']}/disable")
    assert admin.post(f"/pipelines/{published}/disable").json()["Status"] == "Disabled"


def test_only_an_admin_creates_or_changes_schedules(live, published):
    for role in ("reader", "submitter"):
        c = live.client(role)
        r = c.post("/schedules", json=every_15(published))
        assert r.status_code == 403 and r.json()["Error"]["Code"] == "Forbidden"
        assert "admin role" in r.json()["Error"]["Message"]
    s = _create(live, every_15(published))
    for role in ("reader", "submitter"):
        c, url = live.client(role), f"/schedules/{s['Id']}"
        assert c.post(f"{url}/disable").status_code == 403
        assert c.put(url, json={"Name": "x"}).status_code == 403
        assert c.patch(url, json={"Name": "x"}).status_code == 403
        assert c.delete(url).status_code == 403
    assert live.svc.store.get_schedule(s["Id"]).status.value == "Active"
    assert live.client(None).get("/schedules").status_code == 401
