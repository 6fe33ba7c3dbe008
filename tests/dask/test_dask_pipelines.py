"""Pipelines on a real Dask cluster: steps spread over the workers, data on S3, logs and metrics back."""

from __future__ import annotations

import re

from dask_cluster import make_dask_ws

from headrace import Datastore, Experiment, Pipeline, PipelineData, PythonScriptStep

PRODUCE = """
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--i"); p.add_argument("--out"); a = p.parse_args()
time.sleep(0.5)  # long enough for the scheduler to use both single-thread workers
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "part.txt"), "w").write(a.i)
Run.get_context().log("part", int(a.i))
print("produced", a.i, "in", os.getcwd(), "for", os.environ["DASK_SCHEDULER_ADDRESS"])
"""

GATHER = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--parts", nargs="+"); p.add_argument("--out"); a = p.parse_args()
total = sum(int(open(os.path.join(d, "part.txt")).read()) for d in a.parts)
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "total.txt"), "w").write(str(total))
print("total", total)
"""


def test_a_fan_out_spreads_over_both_workers(dask_ws, write_scripts, dask_cluster):
    src = write_scripts({"produce.py": PRODUCE, "gather.py": GATHER})
    lake = Datastore(dask_ws, "lake")
    parts = [PipelineData(f"part{i}", datastore=lake) for i in range(4)]
    total = PipelineData("total", datastore=lake)
    producers = [PythonScriptStep(name=f"produce{i}", script_name="produce.py", source_directory=str(src),
                                  arguments=["--i", str(i + 1), "--out", out], outputs=[out],
                                  compute_target="cluster", allow_reuse=False) for i, out in enumerate(parts)]
    gather = PythonScriptStep(name="gather", script_name="gather.py", source_directory=str(src),
                              arguments=["--parts", *parts, "--out", total], inputs=parts, outputs=[total],
                              compute_target="local", allow_reuse=False)
    pipeline = Pipeline(workspace=dask_ws, steps=[*producers, gather])
    assert pipeline.validate() == []
    run = Experiment(dask_ws, "fan-out").submit(pipeline)
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.error, s.get_execution_log()) for s in run.get_steps()]
    workers = set()
    for i in range(4):
        [step] = run.find_step_run(f"produce{i}")
        assert f"produced {i + 1}" in step.get_stdout_log()
        assert step.get_stdout_log().strip().endswith(f"for {dask_cluster.address}")  # the step may use its cluster
        assert step.get_metrics()["part"] == i + 1
        log = step.get_execution_log()
        workers.update(re.findall(r"running on Dask worker (\S+)", log))
        assert "sent to Dask target 'cluster'" in log
    assert len(workers) == 2, workers  # both workers ran steps
    [g] = run.find_step_run("gather")
    assert "total 10" in g.get_stdout_log()


def test_a_step_runs_in_its_environment_on_a_worker(dask_ws, write_scripts, tmp_path):
    from environments.wheels import make_wheel, offline
    from headrace import CondaDependencies, Environment

    make_wheel(tmp_path / "wheels", "hrtoy", "1.0")  # the workers run on this machine: the folder is theirs too
    env = Environment("toy-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==1.0", *offline(tmp_path / "wheels")])
    src = write_scripts({"toy.py": "import sys, hrtoy\nprint('hrtoy', hrtoy.VERSION, sys.prefix != sys.base_prefix)\n"})
    step = PythonScriptStep("toy.py", source_directory=str(src), environment=env, compute_target="cluster")
    run = Experiment(dask_ws, "dask-env").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", run.get_steps()[0].error
    [step_run] = run.get_steps()
    assert step_run.get_stdout_log() == "hrtoy 1.0 True\n"
    log = step_run.get_execution_log()
    assert "running on Dask worker" in log and "environment 'toy-env'" in log, log


def test_resources_pass_through_to_dask(dask_ws, write_scripts, dask_cluster):
    from headrace import ComputeTarget, DaskCompute

    ComputeTarget.attach(dask_ws, "gpu", DaskCompute.attach_configuration(address=dask_cluster.address,
                                                                           resources={"GPU": 1}))
    src = write_scripts({"a.py": "print('on a GPU worker')\n"})
    steps = [PythonScriptStep("a.py", name=f"g{i}", source_directory=str(src), compute_target="gpu",
                              allow_reuse=False) for i in range(3)]
    run = Experiment(dask_ws, "gpu").submit(Pipeline(workspace=dask_ws, steps=steps))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
    for step in run.get_steps():
        log = step.get_execution_log()
        assert "resources {'GPU': 1.0}" in log
        [address] = set(re.findall(r"running on Dask worker (\S+)", log))
        assert dask_cluster.worker_of(address) == "w1"  # the only worker declaring GPU=1


BARRIER = """
import os, sys, time
folder, me = sys.argv[1], sys.argv[2]
open(os.path.join(folder, me), "w").close()
deadline = time.monotonic() + 60
while len(os.listdir(folder)) < 2:  # both steps must run at the same time
    if time.monotonic() > deadline:
        sys.exit("the other step never ran alongside")
    time.sleep(0.05)
print("met")
"""


def test_steps_on_dask_do_not_count_against_the_agents_limit(tmp_path, dask_cluster, monkeypatch, write_scripts):
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "1")
    ws = make_dask_ws(tmp_path / "home", dask_cluster.address, monkeypatch)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    src = write_scripts({"barrier.py": BARRIER})
    steps = [PythonScriptStep("barrier.py", name=f"b{i}", source_directory=str(src), compute_target="cluster",
                              arguments=[str(barrier), f"b{i}"], allow_reuse=False) for i in range(2)]
    run = Experiment(ws, "limit").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        s.error for s in run.get_steps()]


def test_a_step_on_dask_is_reused_like_a_local_one(dask_ws, write_scripts):
    src = write_scripts({"produce.py": PRODUCE})
    out = PipelineData("part", datastore=Datastore(dask_ws, "lake"))
    step = PythonScriptStep(name="p", script_name="produce.py", source_directory=str(src),
                            arguments=["--i", "7", "--out", out], outputs=[out], compute_target="cluster")
    first_run = Experiment(dask_ws, "reuse").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert first_run.wait_for_completion(show_output=False) == "Finished"
    again = Experiment(dask_ws, "reuse").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert again.wait_for_completion(show_output=False) == "Finished"
    [first], [second] = first_run.get_steps(), again.get_steps()
    assert not first.is_reused and second.is_reused and second.reused_run_id


FILES = """
import os
from headrace import Run
run = Run.get_context()
os.makedirs("outputs", exist_ok=True)
open("outputs/own.txt", "w").write("the step's")
open("note.txt", "w").write("the child's")
with run.child_run("fold") as child:
    child.upload_file("notes/note.txt", "note.txt")
    child.log_image("picture", path="note.txt")
"""


def test_files_of_a_step_on_dask_and_of_its_child_runs_are_kept(dask_ws, write_scripts, tmp_path):
    """The worker shares no folder with the agent: the child's files reach the artifact area (S3) as the step's do."""
    src = write_scripts({"files.py": FILES})
    step = PythonScriptStep(name="f", script_name="files.py", source_directory=str(src), compute_target="cluster",
                            allow_reuse=False)
    run = Experiment(dask_ws, "dask-files").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.error, s.get_execution_log()) for s in run.get_steps()]
    [step_run] = run.get_steps()
    assert "running on Dask worker" in step_run.get_execution_log()
    assert "outputs/own.txt" in step_run.get_file_names() and "notes/note.txt" not in step_run.get_file_names()
    [child] = step_run.get_children()
    assert child.get_file_names() == ["images/picture.txt", "notes/note.txt"]
    child.download_file("notes/note.txt", str(tmp_path / "got.txt"))
    assert (tmp_path / "got.txt").read_text() == "the child's"


GATED_CHILD = """
import os, sys, time
from headrace import Run
with Run.get_context().child_run("fold") as child:
    child.log("acc", 0.5)
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        time.sleep(0.02)
    child.log("acc", 0.9)
"""


def test_child_runs_of_a_step_on_dask_show_while_it_runs(dask_ws, write_scripts, tmp_path, wait_until):
    src = write_scripts({"gated.py": GATED_CHILD})
    step = PythonScriptStep(name="g", script_name="gated.py", source_directory=str(src), compute_target="cluster",
                            arguments=[str(tmp_path / "gate")], allow_reuse=False)
    run = Experiment(dask_ws, "dask-live-children").submit(Pipeline(workspace=dask_ws, steps=[step]))

    def child_so_far():
        [step_run] = run.find_step_run("g")
        children = list(step_run.get_children())
        return children[0] if children and children[0].get_metrics() else None

    child = wait_until(child_so_far, timeout=60, message="the child run never showed while the step ran")
    assert child.get_status() == "Running" and child.get_metrics() == {"acc": 0.5}
    assert run.get_status() == "Running"
    (tmp_path / "gate").touch()
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished"
    [child] = run.find_step_run("g")[0].get_children()
    assert child.get_status() == "Completed" and child.get_metrics() == {"acc": [0.5, 0.9]}
