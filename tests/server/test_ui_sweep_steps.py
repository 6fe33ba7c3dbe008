"""A ``HyperDriveStep`` in the web UI while the step runs, in a real browser (Debian's chromium via Playwright)
against live uvicorn: the pipeline run's step links to its sweep, and the sweep's page shows each trial's row
(hyperparameters, primary metric, status) while the trials run, and adds the next trial's row as it starts,
without a reload; a running trial's own page follows its values. Each trial waits on its own gate files, so the
test decides when each goes on."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import (
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveStep,
    HyperDriveStepRun,
    Pipeline,
    PrimaryMetricGoal,
    ScriptRunConfig,
    Workspace,
    choice,
)
from headrace.errors import NotFoundError

GATED = r'''
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--gate"); p.add_argument("--lr", type=float); a = p.parse_args()
run = Run.get_context()
run.log("accuracy", a.lr * 10)
deadline = time.monotonic() + 120
while not os.path.exists(f"{a.gate}-{a.lr}") and time.monotonic() < deadline:
    time.sleep(0.02)
run.log("accuracy", a.lr * 100)
while not os.path.exists(f"{a.gate}-{a.lr}-end") and time.monotonic() < deadline:
    time.sleep(0.02)
'''


@pytest.fixture
def ws(live):
    workspace = Workspace(url=live.url, token=live.tokens["admin"])
    yield workspace
    workspace._backend.close()


def _sweep(run, count):
    """The step's sweep once ``count`` trials logged a value, with its trials; else None."""
    [step_run] = run.find_step_run("sweep")
    try:
        hd = HyperDriveStepRun(step_run)
    except NotFoundError:
        return None
    trials = list(hd.get_children())
    return (hd, trials) if len(trials) == count and all(t.get_metrics() for t in trials) else None


def _lr(trial) -> float:
    return json.loads(trial.get_tags()["hyperparameters"])["--lr"]


def test_a_sweep_steps_trials_show_in_the_ui_while_the_step_runs(page, live, ws, write_scripts, tmp_path,
                                                                  wait_until) -> None:
    src = write_scripts({"gated.py": GATED})
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(src), "gated.py"),
                              hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.01, 0.02)}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_concurrent_runs=1)
    gate = tmp_path / "gate"
    step = HyperDriveStep("sweep", config, estimator_entry_script_arguments=["--gate", str(gate)],
                          allow_reuse=False)
    run = Experiment(ws, "ui-sweep-step").submit(Pipeline(ws, [step]))
    _hd, [first] = wait_until(lambda: _sweep(run, 1), timeout=60, message="the first trial never showed")

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run.id}")
    link = page.locator("#step-sweep .step-children a")
    expect(link).to_have_count(1)
    expect(page.locator("#step-sweep .step-children")).to_contain_text("Running")
    link.click()
    expect(page.locator("#run-kind")).to_have_text("sweep (HyperDrive) run")
    rows = page.locator("#sweep-trials tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", first.id)
    expect(rows.first.locator(".trial-metric")).to_have_text(f"{_lr(first) * 10:.4g}")
    expect(rows.first).to_contain_text("Running")
    expect(page.locator("#sweep-trials thead")).to_contain_text("--lr")
    assert run.get_status() == "Running"  # all of the above while the step still runs
    for _ in range(2):  # the page has polled (its first poll always refreshes): later refreshes come from changes
        with page.expect_response(lambda r: r.url.endswith(f"/runs/{first.parent.id}/state"), timeout=30_000):
            pass

    (tmp_path / f"gate-{_lr(first)}").touch()  # the first trial ends, the second starts: the open page follows
    (tmp_path / f"gate-{_lr(first)}-end").touch()
    expect(rows).to_have_count(2, timeout=30_000)
    expect(page.locator(f'#sweep-trials tr[data-id="{first.id}"]')).to_contain_text("Completed", timeout=30_000)
    _hd, trials = wait_until(lambda: _sweep(run, 2), timeout=60, message="the second trial never showed")
    [second] = [t for t in trials if t.id != first.id]
    expect(page.locator(f'#sweep-trials tr[data-id="{second.id}"]')).to_contain_text("Running")
    assert run.get_status() == "Running"

    page.goto(f"{live.url}/runs/{second.id}")  # the running trial's own page follows its values too
    value = page.locator('table.metrics tr[data-metric="accuracy"] td')
    expect(value.first).to_have_text(f"{_lr(second) * 10:.4g}")
    for _ in range(2):
        with page.expect_response(lambda r: r.url.endswith(f"/runs/{second.id}/state"), timeout=30_000):
            pass

    (tmp_path / f"gate-{_lr(second)}").touch()
    expect(value.nth(1)).to_have_text("2", timeout=30_000)  # two values now, without a reload
    expect(value.first).to_have_text(f"{_lr(second) * 100:.4g}")
    assert second.get_status() == "Running"
    (tmp_path / f"gate-{_lr(second)}-end").touch()
    assert run.wait_for_completion(show_output=False) == "Finished"
    page.goto(f"{live.url}/runs/{first.parent.id}")
    expect(page.locator(f'#sweep-trials tr[data-id="{second.id}"]')).to_contain_text("Completed")
