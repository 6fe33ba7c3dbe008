"""Per-step Dask resources on a real cluster (``w1`` of the session cluster declares ``GPU=1``, ``w0`` nothing):
a step asking ``GPU=1`` lands on ``w1``; a step asking what no worker declares fails at once naming it and what
each worker declares; the step wins per key over its target; ``run show`` shows them; a ParallelRunStep's further
node asks them too (a three-worker cluster: the node never goes to the worker without a GPU)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dask_cluster import DaskCluster, make_dask_ws
from typer.testing import CliRunner

from headrace import (
    ComputeTarget,
    DaskCompute,
    Dataset,
    Datastore,
    Experiment,
    ParallelRunConfig,
    ParallelRunStep,
    Pipeline,
    PipelineData,
    PythonScriptStep,
    RunConfiguration,
)
from headrace.cli.main import app


def _submit(ws, steps, name="resources"):
    run = Experiment(ws, name).submit(Pipeline(workspace=ws, steps=steps))
    return run, run.wait_for_completion(show_output=False, raise_on_error=False)


def _worker(step_run, cluster: DaskCluster) -> str:
    [address] = set(re.findall(r"running on Dask worker (\S+)", step_run.get_execution_log()))
    return cluster.worker_of(address)


def test_a_step_asking_a_gpu_lands_on_the_worker_declaring_one(dask_ws, write_scripts, dask_cluster):
    src = write_scripts({"a.py": "print('on a GPU worker')\n"})
    rc = RunConfiguration(resources={"GPU": 1})
    rc.target = "cluster"
    steps = [PythonScriptStep("a.py", name="by-runconfig", source_directory=str(src), runconfig=rc, allow_reuse=False),
             *(PythonScriptStep("a.py", name=f"by-step{i}", source_directory=str(src), compute_target="cluster",
                                resources={"GPU": 1}, allow_reuse=False) for i in range(2))]
    run, status = _submit(dask_ws, steps)
    assert status == "Finished", [(s.name, s.error, s.get_execution_log()) for s in run.get_steps()]
    for step in run.get_steps():
        assert _worker(step, dask_cluster) == "w1", step.name  # the only worker declaring GPU=1
        assert "resources {'GPU': 1}" in step.get_execution_log()
        assert step.get_properties()["resources"] == {"GPU": 1}
    shown = CliRunner().invoke(app, ["run", "show", run.id, "--home", str(dask_ws.home), "--json"])
    assert shown.exit_code == 0, shown.output
    assert {s["name"]: s["properties"]["resources"] for s in json.loads(shown.output)["steps"]} == {
        "by-runconfig": {"GPU": 1}, "by-step0": {"GPU": 1}, "by-step1": {"GPU": 1}}
    table = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["run", "show", run.id, "--home", str(dask_ws.home)])
    assert "step by-step0: resources GPU=1" in table.output, table.output


def test_a_resource_no_worker_declares_fails_the_step_at_once_naming_it(dask_ws, write_scripts):
    src = write_scripts({"a.py": "print('never')\n"})
    step = PythonScriptStep("a.py", name="tpu", source_directory=str(src), compute_target="cluster",
                            resources={"TPU": 1, "GPU": 1})
    run, status = _submit(dask_ws, [step])
    assert status == "Failed"
    [step_run] = run.get_steps()
    error = step_run.error
    assert "step 'tpu' asks for resources GPU=1, TPU=1" in error, error
    assert "declares TPU" in error and "the 2 worker(s) declare: " in error, error
    assert "GPU=1" in error.split("declare: ")[1] and "none" in error.split("declare: ")[1], error
    assert "not sent to Dask target 'cluster'" in step_run.get_execution_log()


def test_the_step_wins_per_key_over_its_target(dask_ws, write_scripts, dask_cluster):
    ComputeTarget.attach(dask_ws, "gpu", DaskCompute.attach_configuration(address=dask_cluster.address,
                                                                           resources={"GPU": 1}))
    src = write_scripts({"a.py": "print('x')\n"})
    two = PythonScriptStep("a.py", name="two-gpus", source_directory=str(src), compute_target="gpu",
                           resources={"GPU": 2})
    run, status = _submit(dask_ws, [two])
    assert status == "Failed" and "asks for resources GPU=2" in run.get_steps()[0].error
    # A key of the step's own joins the target's: GPU from the target, MEMORY from the step; w1 declares no
    # MEMORY, so nothing fits, and the error says which key is missing.
    both = PythonScriptStep("a.py", name="gpu-and-memory", source_directory=str(src), compute_target="gpu",
                            resources={"MEMORY": 1e9})
    run, status = _submit(dask_ws, [both])
    assert status == "Failed"
    assert "asks for resources GPU=1, MEMORY=1e+09" in run.get_steps()[0].error
    assert "declares MEMORY;" in run.get_steps()[0].error


SCORE = '''
import os

def init():
    pass

def run(mini_batch):
    return [f"{os.path.basename(p)} {os.environ['HEADRACE_PARALLEL_NODE']} {os.getcwd()}" for p in mini_batch]
'''


def test_parallel_run_step_nodes_ask_the_steps_resources(tmp_path: Path, monkeypatch):
    cluster = DaskCluster(tmp_path / "gpus", workers=3, threads=1, resources={"w1": "GPU=1", "w2": "GPU=1"})
    try:
        ws = make_dask_ws(tmp_path / "home", cluster.address, monkeypatch)
        lake = Datastore(ws, "lake")
        files = tmp_path / "files"
        files.mkdir()
        for i in range(6):
            (files / f"f{i}.txt").write_text("y" * i)
        lake.upload(str(files), target_path="docs", overwrite=True)
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "score.py").write_text(SCORE)
        config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory=str(tmp_path / "src"),
                                   mini_batch_size=1, error_threshold=0, output_action="append_row",
                                   compute_target="cluster", node_count=2, process_count_per_node=1,
                                   resources={"GPU": 1})
        step = ParallelRunStep(name="score", parallel_run_config=config,
                               inputs=[Dataset.File.from_files((lake, "docs/*.txt")).as_named_input("docs")],
                               output=PipelineData("scores", datastore=lake), allow_reuse=False)
        assert Pipeline(workspace=ws, steps=[step]).graph()["steps"][0]["resources"] == {"GPU": 1}
        run, status = _submit(ws, [step], "prs-resources")
        [child] = run.find_step_run("score")
        assert status == "Finished", (child.error, child.get_stdout_log())
        driver = _worker(child, cluster)
        assert driver in ("w1", "w2")
        other = ({"w1", "w2"} - {driver}).pop()
        stdout = child.get_stdout_log()
        [node_address] = re.findall(r"node 1 sent to Dask worker (\S+) \(\d+ bytes of source\), resources GPU=1", stdout)
        assert cluster.worker_of(node_address) == other, stdout  # never w0, which declares no GPU
        target = tmp_path / "got"
        child.get_output_data("scores").download(local_path=str(target))
        [rows_file] = list(target.rglob("parallel_run_step.txt"))
        rows = [line.split(" ") for line in rows_file.read_text().splitlines()]
        assert sorted(name for name, *_ in rows) == [f"f{i}.txt" for i in range(6)]
        assert {Path(cwd).relative_to(cluster.folder).parts[0] for *_, cwd in rows} <= {"w1", "w2"}
    finally:
        cluster.stop()


HOLD = """
import os, sys, time
open(os.path.join(sys.argv[1], "running"), "w").close()
time.sleep(120)
"""


def test_when_the_only_gpu_worker_dies_the_step_says_so_and_fails_after_no_worker_timeout(
        tmp_path: Path, monkeypatch, write_scripts, wait_until):
    cluster = DaskCluster(tmp_path / "one-gpu", workers=2, threads=1, resources={"w1": "GPU=1"})
    try:
        ws = make_dask_ws(tmp_path / "home", cluster.address, monkeypatch)
        ComputeTarget.attach(ws, "patient", DaskCompute.attach_configuration(address=cluster.address,
                                                                              no_worker_timeout=3))
        marks = tmp_path / "marks"
        marks.mkdir()
        src = write_scripts({"hold.py": HOLD})
        step = PythonScriptStep("hold.py", name="hold", source_directory=str(src), compute_target="patient",
                                arguments=[str(marks)], resources={"GPU": 1}, allow_reuse=False)
        run = Experiment(ws, "gpu-gone").submit(Pipeline(workspace=ws, steps=[step]))
        wait_until(lambda: (marks / "running").exists(), timeout=120, message="the step running on w1")
        cluster.kill("w1")
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
        [step_run] = run.get_steps()
        assert "has had no worker declaring resources GPU=1 for 3s (no_worker_timeout)" in step_run.error, \
            step_run.error
        log = step_run.get_execution_log()
        assert "waiting: no worker of the Dask cluster declares resources GPU=1 now" in log, log
    finally:
        cluster.stop()
