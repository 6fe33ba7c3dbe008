"""Pipelines on a real Dask cluster: steps spread over the workers, data on S3, logs and metrics back."""

from __future__ import annotations

import re

from headrace import Datastore, Experiment, Pipeline, PipelineData, PythonScriptStep

PRODUCE = """
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--i"); p.add_argument("--out"); a = p.parse_args()
time.sleep(0.5)  # long enough for the scheduler to use both single-thread workers
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "part.txt"), "w").write(a.i)
Run.get_context().log("part", int(a.i))
print("produced", a.i, "in", os.getcwd())
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
