"""A ParallelRunStep on the Dask target: the driver and its worker processes run on a Dask worker, the dataset
comes from S3, the output goes back to S3, and its progress is read from the live stdout in the artifact area."""

from __future__ import annotations

from pathlib import Path

from headrace import (
    Dataset,
    Datastore,
    Experiment,
    ParallelRunConfig,
    ParallelRunStep,
    Pipeline,
    PipelineData,
)
from headrace.core.parallel_run import last_progress

SCORE = '''
import os

def init():
    global worker
    worker = os.getpid()

def run(mini_batch):
    return [f"{os.path.basename(p)} {len(open(p).read())} {worker}" for p in mini_batch]
'''


def test_a_parallel_run_step_runs_on_a_dask_worker_over_an_s3_dataset(dask_ws, tmp_path: Path):
    lake = Datastore(dask_ws, "lake")
    files = tmp_path / "files"
    files.mkdir()
    for i in range(12):
        (files / f"f{i:02d}.txt").write_text("y" * i)
    lake.upload(str(files), target_path="docs", overwrite=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory=str(tmp_path / "src"),
                               mini_batch_size=3, error_threshold=0, output_action="append_row",
                               compute_target="cluster", node_count=1, process_count_per_node=2)
    dataset = Dataset.File.from_files((lake, "docs/*.txt"))
    step = ParallelRunStep(name="score", parallel_run_config=config, inputs=[dataset.as_named_input("docs")],
                           output=PipelineData("scores", datastore=lake), allow_reuse=False)
    run = Experiment(dask_ws, "prs-dask").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.error, s.get_execution_log()) for s in run.get_steps()]
    [child] = run.find_step_run("score")
    assert "running on Dask worker" in child.get_execution_log()
    target = tmp_path / "got"
    child.get_output_data("scores").download(local_path=str(target))
    [rows_file] = list(target.rglob("parallel_run_step.txt"))
    rows = [line.split(" ") for line in rows_file.read_text().splitlines()]
    assert sorted((name, int(size)) for name, size, _ in rows) == [(f"f{i:02d}.txt", i) for i in range(12)]
    progress = last_progress(child.get_stdout_log())
    assert progress is not None and (progress.total, progress.done, progress.left) == (4, 4, 0)
    assert child.get_metrics()["mini_batches_done"] == 4
