"""A ``HyperDriveStep``'s sweep is live, as a standalone sweep is: each trial is a child run from its start, with
its status, hyperparameters and values so far, readable while the step runs (``HyperDriveStepRun``,
``get_children_sorted_by_primary_metric``); cancelling the pipeline run cancels the running trials (their
processes end, their runs end Canceled). The trials wait on a gate file the test opens, so nothing sleeps a
fixed time in the test. Embedded and remote alike."""

from __future__ import annotations

import json
import os

from headrace import (
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveStep,
    HyperDriveStepRun,
    Pipeline,
    PrimaryMetricGoal,
    ScriptRunConfig,
    choice,
)
from headrace.errors import NotFoundError

GATED = r'''
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--gate"); p.add_argument("--pids"); p.add_argument("--n", type=int)
a = p.parse_args()
open(os.path.join(a.pids, str(os.getpid())), "w").close()
run = Run.get_context()
run.log("accuracy", 0.1 * a.n)
run.tag("phase", "waiting")
deadline = time.monotonic() + 120
while not os.path.exists(a.gate) and time.monotonic() < deadline:
    time.sleep(0.02)
run.log("accuracy", 0.5 + 0.1 * a.n)
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write(f"n={a.n}")
run.upload_file("notes.txt", __file__)
print("trial", a.n, "done")
'''


def _submit(ws, write_scripts, tmp_path, name):
    folder = write_scripts({"gated.py": GATED}, name="gated")
    (tmp_path / "pids").mkdir()
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(folder), "gated.py"),
                              hyperparameter_sampling=GridParameterSampling({"--n": choice(1, 2)}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_total_runs=2, max_concurrent_runs=2)
    step = HyperDriveStep("sweep", config, allow_reuse=False,
                          estimator_entry_script_arguments=["--gate", str(tmp_path / "gate"),
                                                            "--pids", str(tmp_path / "pids")])
    return Experiment(ws, name).submit(Pipeline(ws, [step]))


def _sweep_so_far(run):
    """The step's sweep once both trials logged their first value, else None."""
    [step_run] = run.find_step_run("sweep")
    try:
        hd = HyperDriveStepRun(step_run)
    except NotFoundError:
        return None
    trials = list(hd.get_children())
    if len(trials) == 2 and all(t.get_metrics().get("accuracy") is not None for t in trials):
        return step_run, hd, trials
    return None


def test_trials_of_a_sweep_step_show_while_the_step_runs(ws, write_scripts, tmp_path, wait_until):
    run = _submit(ws, write_scripts, tmp_path, "sweep-step-live")
    step_run, hd, trials = wait_until(lambda: _sweep_so_far(run), timeout=60,
                                      message="the sweep's trials never showed while the step ran")
    assert run.get_status() == "Running" and step_run.get_status() == "Running"
    assert hd.get_status() == "Running" and hd.parent.id == step_run.id
    assert [c.id for c in step_run.get_children()] == [hd.id]
    by_n = {json.loads(t.get_tags()["hyperparameters"])["--n"]: t for t in trials}
    assert sorted(by_n) == [1, 2] and {t.get_status() for t in trials} == {"Running"}
    assert by_n[2].get_metrics() == {"accuracy": 0.2}
    wait_until(lambda: by_n[1].get_tags().get("phase") == "waiting", message="the trial's tag never showed")
    rows = hd.get_children_sorted_by_primary_metric()
    assert [(r["run_id"], r["status"], r["best_primary_metric"]) for r in rows] == [
        (by_n[2].id, "Running", 0.2), (by_n[1].id, "Running", 0.1)]
    assert hd.get_best_run_by_primary_metric().id == by_n[2].id

    (tmp_path / "gate").touch()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", \
        "\n".join(s.get_stderr_log()[-2000:] for s in run.get_steps())
    assert hd.get_status() == "Completed"
    assert {t.get_status() for t in hd.get_children()} == {"Completed"}
    assert by_n[2].get_metrics() == {"accuracy": [0.2, 0.7]}  # each value once, live ones and the rest
    assert [r["run_id"] for r in hd.get_children_sorted_by_primary_metric()] == [by_n[2].id, by_n[1].id]
    # a trial keeps its files as a standalone trial does: ./outputs, uploads, its logs
    names = by_n[2].get_file_names()
    assert {"outputs/model.txt", "notes.txt", "logs/azureml/stdoutlogs.txt"} <= set(names), names
    by_n[2].download_file("outputs/model.txt", str(tmp_path / "model.txt"))
    assert (tmp_path / "model.txt").read_text() == "n=2"
    assert step_run.get_properties()["best_child_run_id"] == by_n[2].id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancelling_the_pipeline_run_cancels_running_trials(ws, write_scripts, tmp_path, wait_until):
    run = _submit(ws, write_scripts, tmp_path, "sweep-step-cancel")
    _step_run, hd, trials = wait_until(lambda: _sweep_so_far(run), timeout=60,
                                       message="the sweep's trials never showed while the step ran")
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    run.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"
    wait_until(lambda: not any(_alive(pid) for pid in pids), message="a trial process outlived the cancel")
    assert hd.get_status() == "Canceled"
    ended = {t.id: t for t in hd.get_children()}
    assert sorted(ended) == sorted(t.id for t in trials)
    assert {t.get_status() for t in ended.values()} == {"Canceled"}
    assert all("canceled" in (t._record.error or "") for t in ended.values())


def test_cancelling_the_sweep_stops_its_step(ws, write_scripts, tmp_path, wait_until):
    """The step is the sweep: cancelling the sweep run (UI, SDK) stops the step, its trials, and so the pipeline
    run, as a step calling ``run.cancel()`` does."""
    run = _submit(ws, write_scripts, tmp_path, "sweep-step-cancel-sweep")
    _step_run, hd, trials = wait_until(lambda: _sweep_so_far(run), timeout=60,
                                       message="the sweep's trials never showed while the step ran")
    pids = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    hd.cancel()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Canceled"
    wait_until(lambda: not any(_alive(pid) for pid in pids), message="a trial process outlived the cancel")
    assert hd.get_status() == "Canceled" and run.find_step_run("sweep")[0].get_status() == "Canceled"
    assert {t.get_status() for t in hd.get_children()} == {"Canceled"}
