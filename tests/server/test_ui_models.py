"""The Models pages in a real browser (Debian's chromium), against live uvicorn: the list, a model's versions with
stages and aliases, the stage history, lineage links and downloadable files."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from ui_browser import sign_in

from headrace.core.model import ModelFile
from headrace.services import datasets, model_files, models
from headrace.services.datastores import get_datastore


def _registry(live, tmp_path: Path) -> None:
    store = get_datastore(live.svc, "workspaceblobstore")
    store.write_bytes("train/rows.csv", b"a,b\n1,2\n")
    definition = {"kind": "file", "sources": [{"datastore": "workspaceblobstore", "path": "train"}], "transforms": []}
    data = datasets.register(live.svc, definition, name="churn-rows")
    folder = tmp_path / "churn"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"first weights")
    models.register_local(live.svc, folder, "churn", actor="token:ci", description="gradient boosting",
                          tags={"team": "crm"}, datasets=models.dataset_refs(live.svc, [("training", data.id)]))
    sha, size = model_files.put_local_blob(live.svc, folder / "model.pkl")
    models.record_version(live.svc, name="churn", root="churn", files=[ModelFile("churn/model.pkl", size, sha)],
                          actor="run:run-abc/train", run_id="run-abc", step_name="train", experiment_name="nightly")
    models.transition_stage(live.svc, "churn", 1, "Production", actor="token:ci", comment="first release")
    models.transition_stage(live.svc, "churn", 2, "Production", actor="token:admin", comment="better recall",
                            archive_existing=True)
    models.set_alias(live.svc, "churn", "champion", 2, actor="token:admin")


def test_models_pages_show_versions_stages_history_lineage_and_files(page, live, tmp_path) -> None:
    _registry(live, tmp_path)
    sign_in(page, live.url, live.tokens["reader"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Models").click()
    page.wait_for_url(f"{live.url}/models")
    row = page.locator("tr[data-name='churn']")
    assert row.locator(".version").inner_text() == "2" and row.locator(".count").inner_text() == "2"
    assert "Production: 2" in row.locator(".stages").inner_text() and "Archived: 1" in row.locator(".stages").inner_text()
    assert row.locator(".aliases").inner_text() == "champion=2"
    row.get_by_role("link", name="churn").click()
    page.wait_for_url(f"{live.url}/models/churn")
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 2")
    versions = page.get_by_role("table", name="Versions")
    assert versions.locator("tr[data-version='2'] .stage").inner_text() == "Production"
    assert versions.locator("tr[data-version='2'] .aliases").inner_text() == "champion"
    assert versions.locator("tr[data-version='1'] .stage").inner_text() == "Archived"
    history = page.get_by_role("table", name="Stage history")
    expect(history.locator("tbody tr")).to_have_count(3)
    expect(history).to_contain_text("better recall")
    expect(history).to_contain_text("token:ci")
    assert page.locator(".lineage a.run").get_attribute("href") == "/runs/run-abc"
    assert page.locator(".lineage .step").inner_text() == "train"
    with page.expect_download() as got:
        page.get_by_role("link", name="churn/model.pkl").click()
    assert Path(got.value.path()).read_bytes() == b"first weights"
    versions.get_by_role("link", name="1", exact=True).click()
    page.wait_for_url(f"{live.url}/models/churn?version=1")
    expect(page.locator(".facts .stage").first).to_have_text("Archived")
    expect(page.locator(".description")).to_have_text("gradient boosting")
    page.locator(".lineage a.dataset").click()
    page.wait_for_url(f"{live.url}/datasets/churn-rows?version=1")
    page.goto(f"{live.url}/models/nope")
    expect(page.locator("main")).to_contain_text("registered models: churn")


TRAIN = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "model.pkl"), "wb").write(b"trained")
'''


def test_a_run_page_links_the_models_registered_from_it(page, live, write_scripts) -> None:
    from headrace import Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace

    ws = Workspace(url=live.url, token=live.tokens["submitter"])
    out = PipelineData("model_out", datastore=ws.get_default_datastore())
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(write_scripts({"train.py": TRAIN})),
                            arguments=["--out", out], outputs=[out])
    run = Experiment(ws, "ui-models").submit(Pipeline(ws, [step]))
    run.wait_for_completion(show_output=False)
    run.register_model("trained", "model_out/model.pkl")
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run.id}")
    models = page.locator("#run-models")
    expect(models).to_contain_text("trained v1 (step train)")
    models.get_by_role("link", name="trained v1").click()
    page.wait_for_url(f"{live.url}/models/trained?version=1")
    assert page.locator(".lineage a.run").get_attribute("href") == f"/runs/{run.id}"
    assert page.locator(".lineage .step").inner_text() == "train"
    ws._backend.close()
