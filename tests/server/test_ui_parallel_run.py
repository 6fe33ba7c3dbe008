"""A running ParallelRunStep's progress on the run page, in a real browser (Debian's chromium) against live
uvicorn: mini-batches done / failed / left while it runs, the final counts after."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from test_ui_runs import wait_for_file
from ui_browser import sign_in

from headrace import DataPath, ParallelRunConfig, ParallelRunStep, Pipeline, PipelineData
from headrace.services import datastores
from headrace.services import runs as run_service

HELD = """
import os, time

def run(mini_batch):
    if any(p.endswith("f05.txt") for p in mini_batch):  # the second mini-batch waits for the test
        open(os.path.join(os.environ["SIGNALS"], "holding"), "w").close()
        release = os.path.join(os.environ["SIGNALS"], "release")
        deadline = time.monotonic() + 60
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.02)
    return mini_batch
"""


def test_the_run_page_shows_mini_batches_done_failed_and_left(page, live, write_scripts, signals) -> None:
    store = datastores.get_datastore(live.svc, "workspaceblobstore")
    for i in range(23):
        store.write_bytes(f"docs/f{i:02d}.txt", b"x" * i)
    source = write_scripts({"held.py": HELD})
    config = ParallelRunConfig(environment=None, entry_script="held.py", source_directory=str(source),
                               mini_batch_size=5, error_threshold=0, output_action="append_row",
                               compute_target="local", node_count=1, process_count_per_node=1,
                               environment_variables={"SIGNALS": str(signals)})
    step = ParallelRunStep(name="held", parallel_run_config=config, inputs=[DataPath("workspaceblobstore", "docs")],
                           output=PipelineData("out"), allow_reuse=False)
    run = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[step]), "ui-prs")
    wait_for_file(signals / "holding")
    sign_in(page, live.url, live.tokens["reader"])
    page.goto(f"{live.url}/runs/{run.id}")
    progress = page.locator("#step-held .parallel-progress")
    expect(progress).to_contain_text("1/5 mini-batches done, 0 failed, 4 left", timeout=15000)
    bar = progress.get_by_role("progressbar", name="Mini-batches of step held processed")
    assert bar.get_attribute("value") == "1" and bar.get_attribute("max") == "5"
    (signals / "release").write_text("go")
    live.wait_run(run.id)
    page.reload()
    expect(progress).to_contain_text(re.compile(r"5/5 mini-batches done, 0 failed, 0 left"))
