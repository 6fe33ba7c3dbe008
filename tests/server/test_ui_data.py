"""The Data pages (datasets and datastores) in a real browser (Debian's chromium), against live uvicorn.

A cloud datastore on the Azurite emulator shows its account and how it signs in, never its key.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect
from ui_browser import sign_in

from headrace.services import cloud_datastores, datasets
from headrace.services.datastores import get_datastore

AZURE = os.environ.get("HEADRACE_TEST_AZURE_CONNECTION_STRING")
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _tables(live) -> None:
    store = get_datastore(live.svc, "workspaceblobstore")
    store.write_bytes("weather/2024/jan.csv", b"city,temp\nOslo,-3\nRome,12\n")
    store.write_bytes("weather/2025/feb.csv", b"city,temp\nLima,24\n")
    definition = {"kind": "tabular", "sources": [{"datastore": "workspaceblobstore", "path": "weather/**/*.csv"}],
                  "read": {"format": "delimited", "separator": ",", "header": True}, "transforms": []}
    first = datasets.register(live.svc, definition, name="weather", description="daily readings", tags={"team": "ops"})
    datasets.record_use(live.svc, first.id, "run-abc", "train", "input")
    store.write_bytes("weather/2025/mar.csv", b"city,temp\nCairo,30\n")
    datasets.register(live.svc, definition, name="weather", create_new_version=True)


def test_datasets_pages_show_versions_files_preview_and_lineage(page, live) -> None:
    _tables(live)
    sign_in(page, live.url, live.tokens["reader"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data").click()
    page.wait_for_url(f"{live.url}/datasets")
    row = page.locator("tr[data-name='weather']")
    assert row.locator(".version").inner_text() == "2" and row.locator(".files").inner_text() == "3"
    row.get_by_role("link", name="weather").click()
    page.wait_for_url(f"{live.url}/datasets/weather")
    expect(page.locator("h1")).to_contain_text("version 2")
    preview = page.get_by_role("table", name="Preview")
    assert preview.locator("th").all_inner_texts()[0].startswith("city")
    assert preview.locator("tbody tr").first.locator("td").all_inner_texts() == ["Oslo", "-3"]
    assert page.get_by_role("table", name="Pinned files").locator("tbody tr").count() == 3
    page.get_by_role("table", name="Versions").get_by_role("link", name="1", exact=True).click()
    page.wait_for_url(f"{live.url}/datasets/weather?version=1")
    lineage = page.get_by_role("table", name="Lineage")
    assert lineage.locator("tbody td").all_inner_texts()[:3] == ["run-abc", "train", "read"]
    assert "daily readings" in page.content()
    page.goto(f"{live.url}/datasets/nope")
    expect(page.locator("main")).to_contain_text("nope")


def test_datastores_page_browses_folders_and_never_shows_a_secret(page, live) -> None:
    if not AZURE:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no Azurite: run the tests through scripts/test.sh")
        pytest.skip("HEADRACE_TEST_AZURE_CONNECTION_STRING unset (scripts/emulators.sh)")
    _tables(live)
    endpoint = AZURE.split("BlobEndpoint=")[1].rstrip(";")
    cloud_datastores.register(live.svc, "blobs", "azure_blob", {
        "container_name": "ui-blobs", "account_name": "devstoreaccount1", "account_key": AZURE_KEY,
        "endpoint": endpoint}, create_if_not_exists=True)
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/datastores")
    blobs = page.locator("tr[data-name='blobs']")
    assert blobs.locator(".kind").inner_text() == "Azure Blob"
    assert blobs.locator(".auth").inner_text() == "account_key (stored encrypted)"
    assert AZURE_KEY not in page.content() and AZURE_KEY[:16] not in page.content()
    page.locator("tr[data-name='workspaceblobstore']").get_by_role("link", name="workspaceblobstore").click()
    page.get_by_role("link", name="weather/").click()
    page.get_by_role("link", name="2024/").click()
    page.wait_for_url(re.compile(r".*/datastores/workspaceblobstore\?prefix=weather(/|%2F)2024$"))
    assert page.locator("tr.file").count() == 1 and page.locator("tr.file td").first.inner_text() == "jan.csv"
    page.goto(f"{live.url}/datastores/blobs")
    expect(page.locator("main")).to_contain_text("No files here.")
    assert AZURE_KEY not in page.content()


def test_the_submit_form_picks_a_dataset_and_its_version(page, live, tmp_path) -> None:
    from headrace import Dataset, Pipeline, PipelineParameter, PythonScriptStep, Workspace
    from headrace.services import publishing

    _tables(live)
    ws = Workspace(tmp_path / "home")  # the live server's home
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "noop.py").write_text("print('ok')\n")
    table = PipelineParameter("table", default_value=Dataset.get_by_name(ws, "weather", version=2))
    step = PythonScriptStep(name="noop", script_name="noop.py", source_directory=str(tmp_path / "steps"),
                            arguments=["--table", table], allow_reuse=False)
    record = publishing.publish_pipeline(live.svc, Pipeline(workspace=None, steps=[step]), name="tables")

    sign_in(page, live.url, live.tokens["submitter"])
    page.goto(f"{live.url}/pipelines/{record.id}")
    assert page.locator("#parameter-table tr[data-name='table'] td").nth(2).inner_text() == "weather (version 2)"
    picker = page.locator("select[name='dsname:table']")
    assert picker.locator("option").all_inner_texts() == ["weather"] and picker.input_value() == "weather"
    assert page.locator("input[name='dsver:table']").input_value() == "2"
    page.fill("input[name='dsver:table']", "1")
    page.click("#submit button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(live.url)}/runs/\w+$"))
    run = live.svc.store.get_run(page.url.rsplit("/", 1)[1])
    assert (run.parameters["table"]["name"], run.parameters["table"]["version"]) == ("weather", 1)

    page.goto(f"{live.url}/pipelines/{record.id}")
    page.fill("input[name='dsver:table']", "7")
    page.click("#submit button[type=submit]")
    expect(page.locator("#submit-error")).to_contain_text("'table'")
    expect(page.locator("#submit-error")).to_contain_text("versions of 'weather': 1, 2")
    assert page.locator("input[name='dsver:table']").input_value() == "7"
