"""The published pipeline's page shows a command step's command and a transfer step's source and destination."""

from __future__ import annotations

import html as html_lib

import httpx

from headrace import CommandStep, DataReference, DataTransferStep, Pipeline, PipelineData, Workspace


def test_the_pipeline_page_shows_the_command_and_the_transfer(live, write_scripts):
    ws = Workspace(url=live.url, token=live.tokens["admin"])
    try:
        src = write_scripts({"train.py": "print('x')\n"})
        model = PipelineData("model", datastore=ws.get_default_datastore())
        CommandStep(["python train.py --epochs 3", "--out", model], name="train", outputs=[model],
                    source_directory=str(src))  # pulled in through its output
        copy = DataTransferStep(name="copy", source_data_reference=model, destination_data_reference=DataReference(ws.get_default_datastore(),
                                                                                     "kept", "kept"))
        published = Pipeline(ws, [copy]).publish(name="commands")
    finally:
        ws._backend.close()
    ui = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(ui)
    ui.get("/signin")
    ui.post("/signin", data={"token": live.tokens["reader"], "csrf": ui.cookies["headrace_signin_csrf"], "next": "/"})
    page = html_lib.unescape(ui.get(f"/pipelines/{published.id}").text)
    assert "(command: python train.py --epochs 3 --out $AZUREML_DATAREFERENCE_model)" in page, page[:2000]
    assert "(data transfer: model to kept_copy)" in page
