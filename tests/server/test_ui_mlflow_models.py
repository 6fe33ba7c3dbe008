"""MLflow logged models on the run page, in a real browser (Debian's chromium via Playwright) against live uvicorn.

The model is logged through MLflow's REST API (what ``mlflow.<flavor>.log_model`` calls), on an MLflow run and on
a script run's step, and each page lists it with its ``models:/`` URI.
"""

from __future__ import annotations

from playwright.sync_api import expect
from ui_browser import sign_in

from headrace import Experiment, ScriptRunConfig, Workspace


def test_the_run_page_lists_the_mlflow_models_a_run_logged(page, live, write_scripts) -> None:
    c = live.client("submitter")
    base = live.url + "/api/2.0/mlflow"
    exp = c.post(f"{base}/experiments/create", json={"name": "ui-logged"}).json()["experiment_id"]
    run_id = c.post(f"{base}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    model = c.post(f"{base}/logged-models", json={"experiment_id": exp, "name": "clf", "source_run_id": run_id})
    model_id = model.json()["model"]["info"]["model_id"]
    c.patch(f"{base}/logged-models/{model_id}", json={"status": "LOGGED_MODEL_READY"})

    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run_id}")
    table = page.locator("#run-logged-models")
    expect(table.locator("tbody tr")).to_have_count(1)
    cells = table.locator("tbody tr td")
    expect(cells.nth(0)).to_have_text("clf")
    expect(cells.nth(1)).to_have_text(f"models:/{model_id}")
    expect(cells.nth(2)).to_have_text("READY")

    src = write_scripts({"train.py": "import mlflow\nfrom mlflow.entities import LoggedModelStatus\n"
                                     "m = mlflow.initialize_logged_model(name='stepmodel')\n"
                                     "mlflow.finalize_logged_model(m.model_id, LoggedModelStatus.READY)\n"})
    ws = Workspace(url=live.url, token=live.tokens["admin"])
    try:
        script = Experiment(ws, "ui-logged").submit(ScriptRunConfig(str(src), "train.py"))
        assert script.wait_for_completion()["status"] == "Completed"
    finally:
        ws._backend.close()
    page.goto(f"{live.url}/runs/{script.id}")
    expect(page.locator("#run-logged-models")).to_contain_text("stepmodel")
    expect(page.locator("#run-logged-models")).to_contain_text("READY")
