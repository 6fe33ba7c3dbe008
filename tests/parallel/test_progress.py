"""While a ParallelRunStep runs, its progress (mini-batches done / failed / left) shows in the run page's data
and in ``headrace run show``; read back from the progress lines of its live stdout."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headrace import Dataset, Experiment, ParallelRunConfig, ParallelRunStep, Pipeline, PipelineData
from headrace.cli.main import app
from headrace.server.ui.run_data import run_view
from headrace.services import parallel_runs

HELD = '''
import os, time

def run(mini_batch):
    if any(p.endswith("f05.txt") for p in mini_batch):  # the second mini-batch waits for the test
        release = os.path.join(os.environ["INIT_LOG"], "release")
        deadline = time.monotonic() + 60
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.02)
    return mini_batch
'''


def wait_until(check, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while (value := check()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)
    return value


def test_progress_shows_in_the_run_page_and_the_cli_while_the_step_runs(ws, scripts, tmp_path: Path):
    (scripts / "held.py").write_text(HELD)
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    config = ParallelRunConfig(environment=None, entry_script="held.py", source_directory=str(scripts),
                               mini_batch_size=5, error_threshold=0, output_action="append_row",
                               compute_target="local", node_count=1, process_count_per_node=1,
                               environment_variables={"INIT_LOG": str(tmp_path / "init-log")})
    step = ParallelRunStep(name="held", parallel_run_config=config, inputs=[files.as_named_input("docs")],
                           output=PipelineData("out"))
    run = Experiment(ws, "progress").submit(Pipeline(workspace=ws, steps=[step]))
    svc = ws._backend.svc

    def one_done():
        steps = svc.store.list_step_runs(run.id)
        progress = parallel_runs.step_progress(svc, steps[0]) if steps else None
        return progress if progress is not None and progress.done == 1 else None

    progress = wait_until(one_done, "the first mini-batch")
    assert (progress.total, progress.failed, progress.left) == (5, 0, 4)
    [view] = run_view(svc, run.id).steps
    assert view.progress is not None and view.progress.text() == "1/5 mini-batches done, 0 failed, 4 left"
    runner = CliRunner(env={"COLUMNS": "200"})
    shown = runner.invoke(app, ["run", "show", run.id, "--home", str(ws.home)])
    assert shown.exit_code == 0, shown.output
    assert "step held: 1/5 mini-batches done, 0 failed, 4 left" in shown.output
    as_json = json.loads(runner.invoke(app, ["run", "show", run.id, "--json", "--home", str(ws.home)]).output)
    assert as_json["steps"][0]["progress"]["left"] == 4
    (tmp_path / "init-log" / "release").write_text("go")
    run.wait_for_completion(show_output=False)
    [view] = run_view(svc, run.id).steps
    assert view.progress is not None and view.progress.text() == "5/5 mini-batches done, 0 failed, 0 left"
