"""Comparing runs in a real browser (Debian's chromium via Playwright) against live uvicorn: pick runs on an
experiment's page, see their parameters and metrics side by side and each metric's series overlaid.

Runs come from ``services.mlflow_tracking`` (what the MLflow API records) and from the REST API (a
pipeline run with parameters and step metrics).
"""

from __future__ import annotations

from playwright.sync_api import expect
from ui_browser import sign_in

from headrace.services import mlflow_tracking as tracking


def mlflow_run(svc, experiment_id: str, name: str, lr: str, losses: list[float]) -> str:
    run_id = tracking.create_run(svc, experiment_id, run_name=name)
    tracking.log_batch(svc, run_id, params=[{"key": "lr", "value": lr}, {"key": "layers", "value": "3"}],
                       metrics=[{"key": "loss", "value": v, "step": i * 100} for i, v in enumerate(losses)])
    tracking.log_batch(svc, run_id, metrics=[{"key": "acc", "value": 1 - losses[-1]}])
    tracking.update_run(svc, run_id, status="FINISHED")
    return run_id


def test_pick_runs_on_the_experiment_page_and_compare_them(page, live, tmp_path) -> None:
    exp = tracking.create_experiment(live.svc, "tuning")
    slow = mlflow_run(live.svc, exp, "slow", "0.01", [1.0, 0.8, 0.7, 0.65])
    fast = mlflow_run(live.svc, exp, "fast", "0.1", [1.0, 0.6, 0.4])
    mlflow_run(live.svc, exp, "unpicked", "0.5", [2.0, 3.0])

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/experiments/tuning")
    page.get_by_label(f"Compare run {slow[:12]}").check()
    page.get_by_label(f"Compare run {fast[:12]}").check()
    page.get_by_role("button", name="Compare selected runs").click()
    assert page.url.startswith(f"{live.url}/compare?")
    expect(page.locator("h1")).to_have_text("Compare runs")
    # Newest first, as the experiment's page lists them.
    expect(page.locator("table.compare >> nth=0").locator("thead th[data-run]")).to_have_text(["fast", "slow"])
    lr = page.locator("table.params tr[data-param='lr']")
    expect(lr.locator("td")).to_have_text(["0.1", "0.01"])
    expect(lr).to_have_class("differs")
    expect(page.locator("table.params tr[data-param='layers']")).to_have_class("same")
    expect(page.locator("table.metrics tr[data-metric='acc'] td")).to_have_text(["0.6", "0.35"])
    loss = page.locator("figure[data-metric='loss']")
    expect(loss.locator("svg.overlay g.series")).to_have_count(2)
    expect(loss.locator("svg.overlay g.series path")).to_have_count(2)
    expect(loss.locator(".legend li")).to_have_text(["fast", "slow"])
    label = loss.locator("svg.overlay").get_attribute("aria-label")
    assert label == "loss: fast 3 values from 1 to 0.4; slow 4 values from 1 to 0.65"
    # The x axis is MLflow's step: the last point of "slow" sits at the right edge (step 300).
    expect(loss.locator("svg.overlay text", has_text="300")).to_have_count(1)
    expect(page.locator("figure[data-metric='acc']")).to_have_count(0)  # one value per run: a table row, no chart
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    page.get_by_role("link", name="back").click()
    assert page.url == f"{live.url}/experiments/tuning"
    # A run's own page lists its MLflow params with its parameters.
    page.goto(f"{live.url}/runs/{fast}")
    expect(page.locator("#run-parameters")).to_contain_text("lr")
    expect(page.locator("#run-parameters")).to_contain_text("0.1")


def test_a_pipeline_run_and_an_mlflow_run_side_by_side(page, live, published) -> None:
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": "mixed", "ParameterAssignments": {"tag": "cmp"}})
    pipeline_run = r.json()["Id"]
    assert live.wait_run(pipeline_run)["Status"] == "Finished"
    notebook = mlflow_run(live.svc, tracking.create_experiment(live.svc, "nb"), "notebook", "0.1", [0.9, 0.5])

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/compare?run={pipeline_run}&run={notebook}&run=no-such-run")
    expect(page.get_by_role("alert")).to_contain_text("no-such-run")
    params = page.locator("table.params")
    expect(params.locator("tr[data-param='tag'] td")).to_have_text(["cmp", "–"])  # a pipeline parameter
    expect(params.locator("tr[data-param='lr'] td")).to_have_text(["–", "0.1"])  # an MLflow param
    # The echo step logs loss 0.5 then 0.25: a series of the one-step run, overlaid with the notebook's.
    expect(page.locator("table.metrics tr[data-metric='loss'] td")).to_have_text(["0.25", "0.5"])
    expect(page.locator("figure[data-metric='loss'] svg.overlay g.series")).to_have_count(2)


def test_nothing_picked_explains_how_and_unknown_runs_are_a_404(page, live) -> None:
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/compare")
    expect(page.locator("p.empty")).to_contain_text("Compare selected runs")
    response = page.goto(f"{live.url}/compare?run=nope")
    assert response is not None and response.status == 404


def test_a_sweeps_trials_and_a_runs_children_link_to_their_comparison(page, live) -> None:
    import json

    from headrace.services import tracking as runs_api
    from headrace.storage.records import RunKind

    settings = {"primary_metric_name": "acc", "primary_metric_goal": "MAXIMIZE"}
    sweep = runs_api.start_run(live.svc, "sweeping", kind=RunKind.SWEEP,
                               properties={"headrace.sweep": json.dumps(settings)})
    trials = []
    for lr, acc in ((0.1, 0.7), (0.01, 0.9), (0.5, 0.4)):
        child = runs_api.start_run(live.svc, "sweeping", parent_run_id=sweep.id,
                                   tags={"hyperparameters": json.dumps({"--lr": lr})})
        tracking.log_batch(live.svc, child.id, metrics=[{"key": "acc", "value": acc, "step": 0}])
        trials.append(child.id)
    parent = runs_api.start_run(live.svc, "nested")
    kids = [runs_api.start_run(live.svc, "nested", parent_run_id=parent.id).id for _ in range(2)]

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{sweep.id}")
    page.locator("#compare-trials").click()
    assert page.url.startswith(f"{live.url}/compare?")
    # Best trial first, as the sweep's table lists them; the sampled values are parameters.
    expect(page.locator("table.params tr[data-param='--lr'] td")).to_have_text(["0.01", "0.1", "0.5"])
    expect(page.locator("table.metrics tr[data-metric='acc'] td")).to_have_text(["0.9", "0.7", "0.4"])
    page.get_by_role("link", name="back").click()
    assert page.url == f"{live.url}/runs/{sweep.id}"

    page.goto(f"{live.url}/runs/{parent.id}")
    page.locator("#compare-children").click()
    expect(page.locator("table.compare >> nth=0").locator("thead th[data-run]")).to_have_count(2)
    assert sorted(page.locator("table.compare >> nth=0").locator("thead th[data-run]").evaluate_all(
        "cells => cells.map(c => c.dataset.run)")) == sorted(kids)
