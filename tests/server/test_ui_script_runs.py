"""Script and interactive runs in the web UI, in a real browser (Debian's chromium via Playwright) against live
uvicorn: kind, files, logged images shown inline, logged tables shown as tables, child runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import Experiment, ScriptRunConfig, Workspace

TRAIN = r'''
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from headrace import Run
run = Run.get_context()
for loss in (0.9, 0.5, 0.2):
    run.log("loss", loss)
run.log_table("by_epoch", {"epoch": [1, 2], "acc": [0.5, 0.8]})
run.log_confusion_matrix("cm", {"schema_type": "confusion_matrix",
                                "data": {"class_labels": ["cat", "dog"], "matrix": [[5, 1], [2, 7]]}})
fig = plt.figure(figsize=(2, 2))
plt.plot([0, 1], [0, 1])
run.log_image("diagonal", plot=fig)
os.makedirs("outputs", exist_ok=True)
open("outputs/model.txt", "w").write("weights")
'''


@pytest.fixture
def ws(live):
    workspace = Workspace(url=live.url, token=live.tokens["admin"])
    yield workspace
    workspace._backend.close()


def test_script_run_page_shows_files_images_and_tables(page, live, ws, write_scripts) -> None:
    src = write_scripts({"train.py": TRAIN})
    run = Experiment(ws, "ui-script").submit(ScriptRunConfig(str(src), "train.py"))
    assert run.wait_for_completion()["status"] == "Completed"

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs")
    row = page.locator(f"tr[data-id='{run.id}']")
    expect(row).to_contain_text("Completed")
    expect(row.locator(".run-kind")).to_have_text("script run")

    page.goto(f"{live.url}/runs/{run.id}")
    expect(page.locator("#run-kind")).to_have_text("script run")
    expect(page.locator("#run-status")).to_have_text("Completed")
    expect(page.locator("#run-files")).to_contain_text("outputs/model.txt")
    expect(page.locator("#run-files")).to_contain_text("images/diagonal.png")
    image = page.locator("figure[data-metric-image='diagonal'] img")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    table = page.locator("table[data-metric-table='by_epoch']")
    expect(table.locator("thead th")).to_have_text(["epoch", "acc"])
    expect(table.locator("tbody tr")).to_have_count(2)
    cm = page.locator("table[data-metric-table='cm']")
    expect(cm.locator("tbody tr").first).to_contain_text("cat")
    expect(cm.locator("tbody tr").nth(1)).to_contain_text("7")
    expect(page.locator("figure.plot-box[data-metric='loss']")).to_be_visible()

    download = page.request.get(f"{live.url}/runs/{run.id}/files/outputs/model.txt")
    assert download.ok and download.body() == b"weights"
    assert page.request.get(f"{live.url}/runs/{run.id}/files/outputs/nope.txt").status == 404


def test_interactive_run_page_lists_its_children(page, live, ws) -> None:
    parent = Experiment(ws, "ui-notebook").start_logging(display_name="notebook")
    parent.log("alpha", 0.5)
    child = parent.child_run("trial-1")
    child.log("score", 0.7)
    child.complete()

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{parent.id}")
    expect(page.locator("#run-kind")).to_have_text("interactive run")
    expect(page.locator("#run-status")).to_have_text("Running")
    expect(page.locator("#run-children tbody tr")).to_have_count(1)
    expect(page.locator("#run-children")).to_contain_text("trial-1")
    page.locator("#run-children a").click()
    expect(page.locator("#run-parent")).to_have_text(parent.id)
    expect(page.locator("tr[data-metric='score']")).to_contain_text("0.7")
    parent.complete()


SWEEP_TRAIN = r'''
import argparse
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--lr", type=float); a = p.parse_args()
Run.get_context().log("accuracy", 1 - abs(a.lr - 0.02) * 10)
'''


def test_sweep_run_page_shows_its_trials_and_a_scatter_plot(page, live, ws, write_scripts) -> None:
    from headrace import GridParameterSampling, HyperDriveConfig, PrimaryMetricGoal, choice

    src = write_scripts({"train.py": SWEEP_TRAIN})
    config = HyperDriveConfig(run_config=ScriptRunConfig(str(src), "train.py"),
                              hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.01, 0.02, 0.03)}),
                              primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                              max_concurrent_runs=3)
    run = Experiment(ws, "ui-sweep").submit(config)
    assert run.wait_for_completion()["status"] == "Completed"
    best = run.get_best_run_by_primary_metric()

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run.id}")
    expect(page.locator("#run-kind")).to_have_text("sweep (HyperDrive) run")
    rows = page.locator("#sweep-trials tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-id", best.id)
    expect(rows.first.locator(".trial-metric")).to_have_text("1")
    expect(page.locator("#sweep-trials thead")).to_contain_text("--lr")
    expect(page.locator("svg.scatter circle.trial")).to_have_count(3)
