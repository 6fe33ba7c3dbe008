"""ParallelRunStep end to end on the local target: real step processes, real worker processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headrace import (
    Dataset,
    Experiment,
    ParallelRunConfig,
    ParallelRunStep,
    Pipeline,
    PipelineData,
    Workspace,
)


def config(scripts: Path, tmp_path: Path, **overrides) -> ParallelRunConfig:
    settings = dict(environment=None, entry_script="score.py", source_directory=str(scripts), mini_batch_size="5",
                    error_threshold=0, output_action="append_row", compute_target="local", node_count=1,
                    process_count_per_node=2, run_invocation_timeout=60,
                    environment_variables={"INIT_LOG": str(tmp_path / "init-log")})
    settings.update(overrides)
    return ParallelRunConfig(**settings)


def submit(ws: Workspace, step: ParallelRunStep):
    run = Experiment(ws, "prs").submit(Pipeline(workspace=ws, steps=[step]))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    [child] = list(run.get_children())
    return run, child


def output_text(child, name: str, tmp_path: Path, file_name: str = "parallel_run_step.txt") -> str:
    target = tmp_path / "got"
    child.get_output_data(name).download(local_path=str(target))
    found = [p for p in target.rglob(file_name)]
    assert len(found) == 1, list(target.rglob("*"))
    return found[0].read_text()


def test_file_dataset_append_row_spreads_over_processes_with_one_init_each(ws, scripts, tmp_path):
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    out = PipelineData("scores", datastore=ws.get_default_datastore())
    cfg = config(scripts, tmp_path, process_count_per_node=3)
    cfg.environment_variables["WORKERS"] = "3"
    step = ParallelRunStep(name="score", parallel_run_config=cfg, inputs=[files.as_named_input("docs")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    rows = [line.rsplit(" ", 1) for line in output_text(child, "scores", tmp_path).splitlines()]
    assert sorted(text for text, _ in rows) == [f"f{i:02d}.txt: scored {i}" for i in range(23)]
    inits = {name.removeprefix("init-"): (tmp_path / "init-log" / name).read_text()
             for name in os.listdir(tmp_path / "init-log")}
    # 23 files in 5 mini-batches over 3 long-lived processes, each calling init() once
    assert len(inits) == 3 and set(inits.values()) == {"1"}
    assert {pid for _, pid in rows} <= set(inits) and len({pid for _, pid in rows}) >= 2
    metrics = child.get_metrics()
    assert metrics["mini_batches"] == 5 and metrics["mini_batches_done"] == 5 and metrics["items_failed"] == 0


def write(scripts: Path, name: str, text: str) -> None:
    (scripts / name).write_text(text)


def test_summary_only_counts_rows_and_the_script_writes_its_own_files(ws, scripts, tmp_path):
    write(scripts, "own.py", '''
import os
from headrace.sdk.parallel import EntryScript

def run(mini_batch):
    out = EntryScript().output_dir
    for p in mini_batch:
        open(os.path.join(out, os.path.basename(p) + ".done"), "w").write("ok")
    return mini_batch
''')
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    out = PipelineData("marks", datastore=ws.get_default_datastore())
    step = ParallelRunStep(name="mark", parallel_run_config=config(scripts, tmp_path, entry_script="own.py",
                                                                   output_action="summary_only"),
                           inputs=[files.as_named_input("docs")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    target = tmp_path / "got"
    child.get_output_data("marks").download(local_path=str(target))
    names = sorted(p.name for p in target.rglob("*") if p.is_file())
    assert names == [f"f{i:02d}.txt.done" for i in range(23)]  # and no parallel_run_step.txt
    assert child.get_metrics()["rows"] == 23


def test_tabular_dataset_mini_batches_are_dataframes_of_about_the_size_asked(ws, scripts, tmp_path):
    write(scripts, "table.py", '''
import argparse

def init():
    global factor
    parser = argparse.ArgumentParser()
    parser.add_argument("--factor", type=int)
    factor = parser.parse_known_args()[0].factor

def run(frame):
    result = frame.copy()
    result["w"] = result["v"] * factor
    result["n"] = len(frame)
    return result
''')
    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "table/*.csv"))
    out = PipelineData("scored", datastore=ws.get_default_datastore())
    step = ParallelRunStep(name="table", parallel_run_config=config(scripts, tmp_path, entry_script="table.py",
                                                                    mini_batch_size="100"),
                           inputs=[table.as_named_input("rows")], output=out, arguments=["--factor", 10])
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    rows = [line.split(" ") for line in output_text(child, "scored", tmp_path).splitlines()]
    assert sorted(int(r[1]) for r in rows) == list(range(60))
    assert all(int(r[2]) == 10 * int(r[1]) for r in rows)
    # 60 rows from 298 bytes of files: ~5 bytes a row, so 100 bytes is 20 rows a mini-batch
    assert {int(r[3]) for r in rows} == {20} and child.get_metrics()["mini_batches"] == 3


KEYS = '''
def run(frame):
    return [f"{frame['k'].iloc[0]} {len(frame)} {len(set(frame['k']))}"]
'''
# run() taking a second argument gets the mini-batch's partition values (Azure ML's mini_batch_context)
KEYS_IN_CONTEXT = '''
def run(frame, context):
    return [f"{context.partition_key_value['k']} {len(frame)}"]
'''


@pytest.mark.parametrize(("source", "expected"), [(KEYS, ["0 20 1", "1 20 1", "2 20 1"]),
                                                  (KEYS_IN_CONTEXT, ["0 20", "1 20", "2 20"])],
                         ids=["frame", "context"])
def test_partition_keys_give_one_mini_batch_per_value(ws, scripts, tmp_path, source, expected):
    write(scripts, "keys.py", source)
    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "table/*.csv"))
    out = PipelineData("groups", datastore=ws.get_default_datastore())
    cfg = config(scripts, tmp_path, entry_script="keys.py", mini_batch_size=None, partition_keys=["k"],
                 error_threshold=-1)
    step = ParallelRunStep(name="groups", parallel_run_config=cfg, inputs=[table.as_named_input("rows")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    assert sorted(output_text(child, "groups", tmp_path).splitlines()) == expected


def test_file_partitions_give_one_mini_batch_per_path_value_and_run_gets_the_context(ws, scripts, tmp_path):
    """As Microsoft's file-dataset-partition-per-folder notebook: keys from the folders, run(batch, context)."""
    store = ws.get_default_datastore()
    folders = tmp_path / "parted"
    for user, season in [("u1", "fall"), ("u1", "winter"), ("u2", "fall")]:
        (folders / user / season).mkdir(parents=True)
        (folders / user / season / "a.wav").write_text(user + season)
        (folders / user / season / "b.wav").write_text("x")
    store.upload(folders, target_path="parted")
    write(scripts, "sizes.py", '''
import os

def run(mini_batch, mini_batch_context):
    keys = mini_batch_context.partition_key_value
    return [f"{keys['user']} {mini_batch_context.minibatch_index} {len(mini_batch)} {os.path.basename(p)}"
            for p in mini_batch]
''')
    data = Dataset.File.from_files((store, "parted/*/*/*.wav"), partition_format="parted/{user}/{season}/{name}.wav")
    out = PipelineData("sizes", datastore=store)
    cfg = config(scripts, tmp_path, entry_script="sizes.py", mini_batch_size=None, partition_keys=["user"])
    step = ParallelRunStep(name="sizes", parallel_run_config=cfg, inputs=[data.as_named_input("audio")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    assert sorted(output_text(child, "sizes", tmp_path).splitlines()) == [
        "u1 0 4 a.wav", "u1 0 4 a.wav", "u1 0 4 b.wav", "u1 0 4 b.wav", "u2 1 2 a.wav", "u2 1 2 b.wav"]
    assert child.get_metrics()["mini_batches"] == 2


def test_a_partition_by_dataset_feeds_a_step_by_its_keys(ws, scripts, tmp_path):
    """As Microsoft's tabular-dataset-partition-per-column notebook: partition_by, then the same keys in a step."""
    write(scripts, "income.py", '''
def run(frame):
    frame["total"] = frame["v"].sum()
    return frame
''')
    store = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((store, "table/*.csv"))
    parted = table.partition_by(partition_keys=["k"], target=(store, "by_k"), name="by_k")
    out = PipelineData("totals", datastore=store)
    cfg = config(scripts, tmp_path, entry_script="income.py", mini_batch_size=None, partition_keys=["k"])
    step = ParallelRunStep(name="totals", parallel_run_config=cfg, inputs=[parted.as_named_input("rows")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    rows = [line.split(" ") for line in output_text(child, "totals", tmp_path).splitlines()]
    # the file's column, then the key from the path (its type kept), then the script's column
    sums = {k: sum(v for v in range(60) if v % 3 == k) for k in range(3)}
    assert sorted((int(v), int(k), int(t)) for v, k, t in rows) == [(v, v % 3, sums[v % 3]) for v in range(60)]


FLAKY = '''
import os

def run(mini_batch):
    names = [os.path.basename(p) for p in mini_batch]
    if "f07.txt" in names:  # fails every time
        raise ValueError("cannot score f07")
    if "f12.txt" in names:  # fails on the first try only
        mark = os.path.join(os.environ["INIT_LOG"], "tried-f12")
        if not os.path.exists(mark):
            open(mark, "w").close()
            raise RuntimeError("transient")
    return names
'''


def test_failed_mini_batches_are_retried_and_tolerated_up_to_the_threshold(ws, scripts, tmp_path):
    write(scripts, "flaky.py", FLAKY)
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    out = PipelineData("names", datastore=ws.get_default_datastore())
    step = ParallelRunStep(name="flaky", parallel_run_config=config(scripts, tmp_path, entry_script="flaky.py",
                                                                    error_threshold=5, run_max_try=3),
                           inputs=[files.as_named_input("docs")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    lines = output_text(child, "names", tmp_path).splitlines()
    assert len(lines) == 18 and "f12.txt" in lines and "f07.txt" not in lines
    metrics = child.get_metrics()
    assert (metrics["mini_batches_failed"], metrics["items_failed"], metrics["mini_batch_retries"]) == (1, 5, 3)
    log = child.get_job_log() if hasattr(child, "get_job_log") else ""
    assert log is not None


def test_errors_above_the_threshold_fail_the_step_with_a_clear_message(ws, scripts, tmp_path):
    write(scripts, "flaky.py", FLAKY)
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    out = PipelineData("names", datastore=ws.get_default_datastore())
    step = ParallelRunStep(name="flaky", parallel_run_config=config(scripts, tmp_path, entry_script="flaky.py",
                                                                    error_threshold=4, run_max_try=2),
                           inputs=[files.as_named_input("docs")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Failed"
    tail = child._record.properties.get("stderr_tail", "")
    assert "ParallelRunStep failed: 5 failed file(s) is above error_threshold 4" in tail
    assert "mini-batch 1 (f05.txt .. f09.txt): ValueError: cannot score f07" in tail


def test_a_stuck_run_is_killed_after_the_timeout_and_its_worker_replaced(ws, scripts, tmp_path):
    write(scripts, "stuck.py", '''
import os, threading

def init():
    open(os.path.join(os.environ["INIT_LOG"], f"init-{os.getpid()}"), "w").close()

def run(mini_batch):
    if any(p.endswith("f00.txt") for p in mini_batch):
        threading.Event().wait()  # never returns
    return mini_batch
''')
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    out = PipelineData("names", datastore=ws.get_default_datastore())
    cfg = config(scripts, tmp_path, entry_script="stuck.py", error_threshold=-1, run_max_try=1,
                 run_invocation_timeout=1, process_count_per_node=1)
    step = ParallelRunStep(name="stuck", parallel_run_config=cfg, inputs=[files.as_named_input("docs")], output=out)
    run, child = submit(ws, step)
    assert run.get_status() == "Finished", child.get_details()
    metrics = child.get_metrics()
    assert (metrics["mini_batches_done"], metrics["mini_batches_failed"], metrics["items_failed"]) == (4, 1, 5)
    assert len(os.listdir(tmp_path / "init-log")) == 2  # the killed worker's replacement called init() again
    assert len(output_text(child, "names", tmp_path).splitlines()) == 18


def test_a_data_path_folder_is_cut_into_mini_batches_with_parameters_read_at_submit(ws, scripts, tmp_path):
    from headrace import DataPath, PipelineParameter

    folder = PipelineParameter("folder", default_value=DataPath(ws.get_default_datastore(), "files"))
    size = PipelineParameter("size", default_value="5")
    cfg = config(scripts, tmp_path, mini_batch_size=size, process_count_per_node=PipelineParameter("procs", 2))
    step = ParallelRunStep(name="by-path", parallel_run_config=cfg, inputs=[folder],
                           output=PipelineData("scores", datastore=ws.get_default_datastore()))
    pipeline = Pipeline(workspace=ws, steps=[step])
    run = Experiment(ws, "prs").submit(pipeline, pipeline_parameters={"size": "4", "procs": 1})
    run.wait_for_completion(show_output=False, raise_on_error=False)
    [child] = list(run.get_children())
    assert run.get_status() == "Finished", child.get_details()
    assert len(output_text(child, "scores", tmp_path).splitlines()) == 23
    assert child.get_metrics()["mini_batches"] == 6  # 23 files by 4


def test_an_unchanged_step_over_unchanged_data_is_reused(ws, scripts, tmp_path):
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))

    def step() -> ParallelRunStep:
        return ParallelRunStep(name="score", parallel_run_config=config(scripts, tmp_path),
                               inputs=[files.as_named_input("docs")], output=PipelineData("scores"))

    first, _ = submit(ws, step())
    again, child = submit(ws, step())
    assert (first.get_status(), again.get_status()) == ("Finished", "Finished")
    assert child._record.reused_from is not None


def test_an_init_that_fails_fails_the_step_with_its_traceback(ws, scripts, tmp_path):
    write(scripts, "broken.py", "def init():\n    raise RuntimeError('no model here')\n\ndef run(b):\n    return b\n")
    files = Dataset.File.from_files((ws.get_default_datastore(), "files/*.txt"))
    step = ParallelRunStep(name="broken", parallel_run_config=config(scripts, tmp_path, entry_script="broken.py"),
                           inputs=[files.as_named_input("docs")], output=PipelineData("scores"))
    run, child = submit(ws, step)
    assert run.get_status() == "Failed"
    tail = child._record.properties.get("stderr_tail", "")
    assert "ParallelRunStep failed: init() of the entry script failed in worker node0.process" in tail
    assert "RuntimeError: no model here" in tail and 'broken.py", line 2, in init' in tail
