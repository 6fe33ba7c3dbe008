"""``headrace schedule ...`` and ``headrace scheduler``.

Commands run through click's runner on ``headrace.cli.main.app`` (same process); the console-script
behaviour (one error line naming the field, exit code 1) and the scheduler process are checked on
real ``python -m headrace`` subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from headrace import DataPath, Pipeline, PipelineParameter, PythonScriptStep
from headrace.cli.main import app
from headrace.services import endpoints, publishing


@pytest.fixture
def cli(workspace):
    """``cli("schedule", "list", "--json")``: the CLI on the test workspace; returns the result."""
    runner = CliRunner(env={"COLUMNS": "250"})

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return invoke


@pytest.fixture
def published(workspace, write_scripts) -> str:
    folder = write_scripts({"echo.py": "import sys; print(sys.argv)\n"})
    n = PipelineParameter("n", default_value=1)
    data = PipelineParameter("input_data", default_value=DataPath("workspaceblobstore", "raw/data.csv"))
    step = PythonScriptStep(name="echo", script_name="echo.py", source_directory=str(folder), arguments=[n, data],
                            inputs=[data])
    svc = workspace._backend.svc
    (svc.home / "datastores" / "workspaceblobstore" / "incoming").mkdir(parents=True)
    return publishing.publish_pipeline(svc, Pipeline(workspace=None, steps=[step]), name="echo").id


def _json(result) -> object:
    return json.loads(result.stdout)


def _headrace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headrace", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=timeout)


def test_create_every_then_list_show_disable_delete(cli, published):
    s = _json(cli("schedule", "create", "every15", "--pipeline-id", published, "--experiment", "Exp",
                  "--every", "15m", "-p", "n=5", "--description", "Based on time", "--json"))
    assert (s["name"], s["status"], s["trigger"], s["experiment_name"]) == ("every15", "Active", "Every 15 minutes", "Exp")
    assert s["recurrence"]["frequency"] == "Minute" and s["recurrence"]["interval"] == 15
    assert s["parameters"] == {"n": "5"} and s["next_run_time"] and s["datastore"] is None

    table = cli("schedule", "list").stdout
    assert s["id"] in table and "every15" in table and "Every 15 minutes" in table and "UTC" in table
    shown = cli("schedule", "show", s["id"]).stdout
    assert "trigger: Every 15 minutes" in shown and "Recent evaluations" in shown and "n=5" in shown
    assert _json(cli("schedule", "show", s["id"], "--json"))["ticks"] == []

    assert _json(cli("schedule", "disable", s["id"], "--json"))["status"] == "Disabled"
    assert _json(cli("schedule", "list", "--json")) == []
    assert [x["id"] for x in _json(cli("schedule", "list", "--all", "--json"))] == [s["id"]]
    assert "Active" in cli("schedule", "enable", s["id"]).stdout
    cli("schedule", "disable", s["id"])
    assert "deleted schedule every15" in cli("schedule", "delete", s["id"]).stdout
    assert _json(cli("schedule", "list", "--all", "--json")) == []


def test_create_with_cron_or_a_calendar_pattern(cli, published):
    c = _json(cli("schedule", "create", "nightly", "--pipeline-id", published, "-e", "Exp", "--cron", "30 2 * * 1-5",
                  "--time-zone", "Europe/Paris", "--misfire", "skip", "--json"))
    assert c["recurrence"]["cron"] == "30 2 * * 1-5" and c["recurrence"]["time_zone"] == "Europe/Paris"
    assert c["misfire"] == "skip" and c["trigger"] == "Cron '30 2 * * 1-5', Europe/Paris"
    w = _json(cli("schedule", "create", "weekly", "--pipeline-id", published, "-e", "Exp", "--frequency", "Week",
                  "--week-days", "Monday,Wednesday", "--at", "18:30", "--time-zone", "W. Europe Standard Time",
                  "--start", "2026-01-05T00:00", "--disabled", "--json"))
    assert w["trigger"] == "Every week on Monday and Wednesday at 18:30 from 2026-01-05 00:00, Europe/Berlin"
    assert w["status"] == "Disabled" and w["next_run_time"] is None
    h = _json(cli("schedule", "create", "hours", "--pipeline-id", published, "-e", "Exp", "--frequency", "Day",
                  "--hours", "9,17", "--minutes", "0", "--json"))
    assert h["trigger"] == "Every day at 09:00 and 17:00, UTC"
    listed = cli("schedule", "list", "--all").stdout
    assert "nightly" in listed and "Europe/Paris" in listed and "weekly" in listed


def test_create_reactive_and_filter_by_target(cli, published, workspace):
    r = _json(cli("schedule", "create", "on-file", "--pipeline-id", published, "-e", "Files", "--datastore",
                  "workspaceblobstore", "--path", "incoming", "--poll", "0.5", "--data-path-param", "input_data",
                  "--recursive", "--json"))
    assert r["datastore"] == {"datastore": "workspaceblobstore", "path": "incoming", "polling_interval": 0.5,
                              "data_path_parameter_name": "input_data", "recursive": True, "batch": False}
    assert r["recurrence"] is None
    assert r["trigger"] == "When a file is added or changed in workspaceblobstore/incoming or its sub-folders, every 30 s"
    endpoints.publish_endpoint(workspace._backend.svc, name="ep", published_pipeline_id=published)
    e = _json(cli("schedule", "create", "on-ep", "--endpoint", "ep", "-e", "Exp", "--every", "2h", "--json"))
    assert e["pipeline_endpoint_id"] and e["pipeline_id"] is None and e["trigger"] == "Every 2 hours"
    assert [x["id"] for x in _json(cli("schedule", "list", "--endpoint", "ep", "--json"))] == [e["id"]]
    assert [x["id"] for x in _json(cli("schedule", "list", "--pipeline-id", published, "--json"))] == [r["id"]]


def test_run_now_and_runs(cli, published):
    out = cli("schedule", "create", "now", "--pipeline-id", published, "-e", "Exp", "--every", "1d", "--run-now").stdout
    assert "created schedule now" in out and "started run" in out
    schedule_id = _json(cli("schedule", "list", "--json"))[0]["id"]
    [run] = _json(cli("schedule", "runs", schedule_id, "--json"))
    assert run["schedule_id"] == schedule_id and run["run_source"] == "Schedule"
    assert run["id"] in cli("schedule", "runs", schedule_id).stdout


@pytest.mark.parametrize(("args", "field"), [
    (["--cron", "every day"], "cron"),
    (["--every", "15x"], "every"),
    (["--every", "0m"], "interval"),
    (["--every", "1h", "--time-zone", "Mars/Olympus"], "time_zone"),
    (["--frequency", "Day", "--at", "25:00"], "time_of_day"),
    (["--datastore", "workspaceblobstore", "--data-path-param", "n"], "data_path_parameter_name"),
    (["--every", "1h", "--poll", "1"], "polling_interval"),
    (["--every", "1h", "--misfire", "sometimes"], "misfire"),
    ([], "recurrence"),
])
def test_bad_input_exits_1_naming_the_field(workspace, published, args, field):
    result = _headrace("schedule", "create", "bad", "--pipeline-id", published, "-e", "Exp", *args,
                       "--home", str(workspace.home))
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_pipeline_or_schedule_exits_1(workspace, published):
    result = _headrace("schedule", "create", "x", "--pipeline-id", "nope", "-e", "Exp", "--every", "1h",
                       "--home", str(workspace.home))
    assert result.returncode == 1 and "not found" in result.stderr
    result = _headrace("schedule", "show", "nope", "--home", str(workspace.home))
    assert result.returncode == 1 and "not found" in result.stderr


def test_the_scheduler_command_fires_schedules_until_sigterm(workspace, published, wait_until):
    from headrace import Schedule

    home = workspace.home
    proc = subprocess.Popen([sys.executable, "-m", "headrace", "scheduler", "--home", str(home)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        s = Schedule.create(workspace, name="on-file", pipeline_id=published, experiment_name="Files",
                            datastore="workspaceblobstore", path_on_datastore="incoming", polling_interval=1 / 60,
                            data_path_parameter_name="input_data")
        (home / "datastores" / "workspaceblobstore" / "incoming" / "new.csv").write_text("a\n1\n")
        svc = workspace._backend.svc
        [run] = wait_until(lambda: svc.store.list_runs(schedule_id=s.id)[0], timeout=30,
                           message="the scheduler process to fire")
        assert run.parameters["input_data"] == {"datastore": "workspaceblobstore", "path": "incoming/new.csv"}
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 0, err
    assert "serving" in err and "scheduler stopped" in err
