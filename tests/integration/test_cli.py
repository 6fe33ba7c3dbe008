"""``headrace run list|show|logs|cancel|wait`` and ``headrace experiment list``.

Most commands go through click's runner on ``headrace.cli.main.app`` (same process, same
in-process agent); the console-script behaviour (one error line, exit code 1) is checked on a
real ``python -m headrace`` subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from headrace import Experiment, Pipeline, PipelineData, PipelineParameter
from headrace.cli.main import app


@pytest.fixture
def cli(workspace):
    """``cli("run", "list", "--json")``: invoke the CLI on the test workspace; returns the result."""
    runner = CliRunner(env={"COLUMNS": "200"})

    def invoke(*args: str, expect: int = 0):
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return invoke


def _headrace(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headrace", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


@pytest.fixture
def finished_run(workspace, ctl_step):
    n = PipelineParameter(name="n", default_value=3)
    d = PipelineData("d")
    ctl_step("make", value=n, out=d)
    pipeline = Pipeline(workspace=workspace, steps=[ctl_step("use", input=d)])
    run = Experiment(workspace, "CliExperiment").submit(pipeline, pipeline_parameters={"n": 5})
    assert run.wait_for_completion(show_output=False) == "Finished"
    return run


def test_run_list(cli, finished_run, workspace):
    listed = json.loads(cli("run", "list", "--json").stdout)
    assert [(r["id"], r["status"], r["experiment_name"]) for r in listed] == [
        (finished_run.id, "Finished", "CliExperiment")]
    assert listed[0]["parameters"] == {"n": 5}

    table = cli("run", "list").stdout
    assert finished_run.id in table
    assert "CliExperiment" in table and "Finished" in table

    assert json.loads(cli("run", "list", "--experiment", "Other", "--json").stdout) == []

    # On a narrow or piped output the run id, which other commands take, is never cut.
    narrow = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["run", "list", "--home", str(workspace.home)])
    assert narrow.exit_code == 0 and finished_run.id in narrow.stdout


def test_run_show(cli, finished_run):
    shown = json.loads(cli("run", "show", finished_run.id, "--json").stdout)
    assert shown["id"] == finished_run.id and shown["status"] == "Finished"
    assert [(s["name"], s["status"], s["exit_code"]) for s in shown["steps"]] == [
        ("make", "Finished", 0), ("use", "Finished", 0)]
    assert shown["parameters"] == {"n": 5}

    table = cli("run", "show", finished_run.id).stdout
    assert "CliExperiment" in table and "n=5" in table
    assert "make" in table and "use" in table


def test_run_logs(cli, finished_run):
    assert "make value 5" in cli("run", "logs", finished_run.id, "make").stdout
    execution = cli("run", "logs", finished_run.id, "use", "--log", "execution").stdout
    assert "command:" in execution and "reuse:" in execution
    step_id = finished_run.find_step_run("use")[0].id
    assert "use done" in cli("run", "logs", finished_run.id, step_id, "--tail", "1").stdout


def test_run_wait(cli, finished_run, workspace, ctl_step):
    assert json.loads(cli("run", "wait", finished_run.id, "--json").stdout) == {
        "id": finished_run.id, "status": "Finished"}
    streamed = cli("run", "wait", finished_run.id).stdout
    assert "[make] Finished" in streamed and "make value 5" in streamed

    failed = Experiment(workspace, "CliExperiment").submit(
        Pipeline(workspace=workspace, steps=[ctl_step("bad", exit=4)]))
    result = cli("run", "wait", failed.id, "--quiet", expect=1)
    assert "bad" in str(result.exception) and "exit code 4" in str(result.exception)


def test_run_cancel(cli, workspace, ctl_step, read_signal, wait_until):
    run = Experiment(workspace, "CliExperiment").submit(
        Pipeline(workspace=workspace, steps=[ctl_step("long", wait_for="never")]))
    wait_until(lambda: read_signal("long.pid"), message="the step to start")
    answer = json.loads(cli("run", "cancel", run.id, "--json").stdout)
    assert answer["id"] == run.id and answer["cancel_requested"] is True
    assert json.loads(cli("run", "wait", run.id, "--json").stdout)["status"] == "Canceled"
    assert "Canceled" in cli("run", "cancel", run.id).stdout  # already ended: unchanged


def test_experiment_list(cli, finished_run):
    listed = json.loads(cli("experiment", "list", "--json").stdout)
    assert [e["name"] for e in listed] == ["CliExperiment"]
    table = cli("experiment", "list").stdout
    assert "CliExperiment" in table and "1" in table


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the console-script entry point in this process: (exit code, stdout, stderr)."""
    from headrace.cli.main import main

    monkeypatch.setattr(sys, "argv", ["headrace", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_console_script_subprocess(workspace, finished_run):
    home = str(workspace.home)
    ok = _headrace("run", "show", finished_run.id, "--json", env={"HEADRACE_HOME": home})
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "Finished"

    missing = _headrace("run", "show", "no-such-run", "--home", home)
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: run 'no-such-run' not found"
    assert missing.stdout == ""


def test_errors_print_one_line_and_exit_1(workspace, finished_run, monkeypatch, capsys):
    home = str(workspace.home)
    code, out, err = _main(monkeypatch, capsys, "run", "logs", finished_run.id, "nostep", "--home", home)
    assert code == 1 and out == ""
    assert err.strip() == f"error: step 'nostep' not found; steps of run {finished_run.id}: make, use"

    for args in (["run", "show", "no-such-run"], ["run", "wait", "no-such-run"], ["run", "cancel", "no-such-run"],
                 ["run", "logs", "no-such-run", "make"]):
        code, out, err = _main(monkeypatch, capsys, *args, "--home", home)
        assert code == 1, args
        assert err.strip() == "error: run 'no-such-run' not found", args
        assert "Traceback" not in err

    code, _, err = _main(monkeypatch, capsys, "run", "logs", finished_run.id, "make", "--log", "nope", "--home", home)
    assert code == 1 and "unknown log 'nope'" in err and "stdout, stderr, execution" in err
