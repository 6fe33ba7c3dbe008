"""A ParallelRunStep through the SDK on both backends: an embedded workspace and a remote one (REST), with
a tabular dataset as input and the run's progress read back through the backend."""

from __future__ import annotations

from pathlib import Path

from headrace import (
    Dataset,
    Experiment,
    ParallelRunConfig,
    ParallelRunStep,
    Pipeline,
    PipelineData,
    Workspace,
)
from headrace.core.parallel_run import last_progress

SCORE = '''
def run(frame):
    frame = frame.copy()
    frame["double"] = frame["v"] * 2
    return frame
'''


def test_a_parallel_run_step_over_a_tabular_dataset(ws: Workspace, tmp_path: Path):
    folder = tmp_path / "table"
    folder.mkdir()
    (folder / "t.csv").write_text("k,v\n" + "".join(f"k{i},{i}\n" for i in range(30)))
    store = ws.get_default_datastore()
    store.upload(folder, target_path="prs-table", overwrite=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    table = Dataset.Tabular.from_delimited_files((store, "prs-table/*.csv")).register(ws, "prs-table")
    config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory=str(tmp_path / "src"),
                               mini_batch_size="64", error_threshold=0, output_action="append_row",
                               compute_target="local", node_count=1, process_count_per_node=2)
    step = ParallelRunStep(name="double", parallel_run_config=config, inputs=[table.as_named_input("rows")],
                           output=PipelineData("doubled", datastore=store))
    run = Experiment(ws, "prs-modes").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
    [child] = run.find_step_run("double")
    got = tmp_path / "got"
    child.get_output_data("doubled").download(local_path=str(got))
    [rows] = list(got.rglob("parallel_run_step.txt"))
    lines = sorted(rows.read_text().splitlines(), key=lambda line: int(line.split()[1]))
    assert lines == [f"k{i} {i} {2 * i}" for i in range(30)]
    progress = last_progress(child.get_stdout_log())
    assert progress is not None and progress.done == progress.total > 1 and progress.left == 0
