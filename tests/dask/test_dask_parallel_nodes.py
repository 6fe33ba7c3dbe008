"""A ParallelRunStep with node_count=2 on a real two-worker Dask cluster: node 0 on the step's worker, node 1 a
Dask task on the other worker, its processes connected back to the driver; and a node's worker killed mid-run.

The entry script's rows name the process (pid), how often ``init()`` ran in it and its working folder (under
its Dask worker's own folder: proof of which worker ran the mini-batch). Markers in a folder of the test
machine make both nodes take mini-batches: node 0's ``run()`` holds its mini-batches (bounded wait) until
node 1 ran one. Also: tabular mini-batches (DataFrames) on node 1, an ``init()`` failing there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dask_cluster import DaskCluster, make_dask_ws

from headrace import (
    Dataset,
    Datastore,
    Experiment,
    ParallelRunConfig,
    ParallelRunStep,
    Pipeline,
    PipelineData,
)

SCORE = '''
import argparse, os, time

INITS = 0

def _args():
    p = argparse.ArgumentParser(); p.add_argument("--marks"); p.add_argument("--mode", default="spread")
    return p.parse_known_args()[0]

def _mark(name):
    with open(os.path.join(ARGS.marks, f"{name}-{NODE}-{os.getpid()}"), "w") as f:
        f.write(os.getcwd())

def init():
    global INITS, ARGS, NODE
    INITS += 1
    ARGS, NODE = _args(), int(os.environ["HEADRACE_PARALLEL_NODE"])
    _mark("init")
    if ARGS.mode == "initfail" and NODE == 1:
        raise RuntimeError("no model on node 1")

def _wait_for(prefix):
    deadline = time.monotonic() + 120
    while not any(n.startswith(prefix) for n in os.listdir(ARGS.marks)) and time.monotonic() < deadline:
        time.sleep(0.05)

def run(mini_batch, context=None):
    if NODE == 0:  # holds its mini-batches until node 1 ran one: both nodes take some
        _wait_for({"initfail": "never-"}.get(ARGS.mode, "ran-1-"))
    else:
        _mark("ran")
        if ARGS.mode == "kill":
            _wait_for("never-")
    if ARGS.mode == "env":
        import sys, hrtoy
        return [f"{os.path.basename(p)} {hrtoy.VERSION} {sys.prefix != sys.base_prefix} {NODE}" for p in mini_batch]
    if ARGS.mode == "table":
        return [f"{k} {v} {NODE} {INITS}" for k, v in zip(mini_batch["k"], mini_batch["v"])]
    if ARGS.mode == "parted":
        return [f"{context.partition_key_value['part']} {os.path.basename(p)} {NODE}" for p in mini_batch]
    return [f"{os.path.basename(p)} {len(open(p).read())} {os.getpid()} {INITS} {os.getcwd()}" for p in mini_batch]
'''


def _step(ws, tmp_path: Path, marks: Path, files: int, mode: str = "spread", environment=None) -> ParallelRunStep:
    lake = Datastore(ws, "lake")
    folder = tmp_path / "files"
    folder.mkdir()
    if mode == "table":
        (folder / "t.csv").write_text("k,v\n" + "".join(f"{i % 6},{i}\n" for i in range(files)))
    elif mode == "parted":
        for i in range(files):
            # 6 partitions: node 0's two processes hold at most 4 (two each) while waiting for node 1 to run one
            (folder / f"p{i % 6}").mkdir(exist_ok=True)
            (folder / f"p{i % 6}" / f"f{i:02d}.txt").write_text("y" * i)
    else:
        for i in range(files):
            (folder / f"f{i:02d}.txt").write_text("y" * i)
    lake.upload(str(folder), target_path="docs", overwrite=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    config = ParallelRunConfig(environment=environment, entry_script="score.py", source_directory=str(tmp_path / "src"),
                               mini_batch_size=None if mode in ("table", "parted") else 1, error_threshold=0,
                               output_action="append_row",
                               compute_target="cluster", node_count=2, process_count_per_node=2,
                               partition_keys={"table": ["k"], "parted": ["part"]}.get(mode))
    if mode == "table":
        dataset = Dataset.Tabular.from_delimited_files((lake, "docs/t.csv"))
    elif mode == "parted":
        dataset = Dataset.File.from_files((lake, "docs/*/*.txt"), partition_format="docs/{part}/{name}.txt")
    else:
        dataset = Dataset.File.from_files((lake, "docs/*.txt"))
    return ParallelRunStep(name="score", parallel_run_config=config, inputs=[dataset.as_named_input("docs")],
                           output=PipelineData("scores", datastore=lake), arguments=["--marks", str(marks), "--mode", mode],
                           allow_reuse=False)


def _rows(child, tmp_path: Path) -> list[list[str]]:
    target = tmp_path / "got"
    child.get_output_data("scores").download(local_path=str(target))
    [rows_file] = list(target.rglob("parallel_run_step.txt"))
    return [line.split(" ") for line in rows_file.read_text().splitlines()]


def _worker_folder(path: str, cluster: DaskCluster) -> str:
    return Path(path).relative_to(cluster.folder).parts[0]


def _marks(tmp_path: Path) -> Path:
    marks = tmp_path / "marks"
    marks.mkdir()
    return marks


def _submit(ws, step):
    run = Experiment(ws, "prs-nodes").submit(Pipeline(workspace=ws, steps=[step]))
    return run, run.wait_for_completion(show_output=False, raise_on_error=False)


def test_two_nodes_spread_mini_batches_over_both_dask_workers(dask_ws, dask_cluster, tmp_path: Path):
    marks = _marks(tmp_path)
    run, status = _submit(dask_ws, _step(dask_ws, tmp_path, marks, files=12))
    assert status == "Finished", [(s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
    [child] = run.find_step_run("score")
    rows = _rows(child, tmp_path)
    assert sorted((name, int(size)) for name, size, *_ in rows) == [(f"f{i:02d}.txt", i) for i in range(12)]
    assert {inits for *_, inits, _cwd in rows} == {"1"}  # init() once per process
    assert {_worker_folder(cwd, dask_cluster) for *_, cwd in rows} == {"w0", "w1"}, rows
    inits = [name.split("-") for name in os.listdir(marks) if name.startswith("init-")]
    assert sorted(node for _, node, _ in inits).count("0") == 2 and {"1"} <= {node for _, node, _ in inits}
    pids = [pid for *_, pid in inits]
    assert len(pids) == len(set(pids)) and {pid for _, _, pid, *_ in rows} <= set(pids)  # one init() each
    stdout = child.get_stdout_log()
    assert "node 1 up on Dask worker" in stdout and "worker node1.process" in stdout, stdout
    assert child.get_metrics()["mini_batches_done"] == 12


def test_tabular_mini_batches_reach_the_remote_node_as_dataframes(dask_ws, tmp_path: Path):
    run, status = _submit(dask_ws, _step(dask_ws, tmp_path, _marks(tmp_path), files=60, mode="table"))
    assert status == "Finished", [(s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
    [child] = run.find_step_run("score")
    rows = _rows(child, tmp_path)
    assert sorted((int(v), int(k)) for k, v, *_ in rows) == [(v, v % 6) for v in range(60)]
    assert {node for *_, node, _ in rows} == {"0", "1"} and {inits for *_, inits in rows} == {"1"}


def test_file_partitions_reach_the_remote_node_with_their_values(dask_ws, tmp_path: Path):
    run, status = _submit(dask_ws, _step(dask_ws, tmp_path, _marks(tmp_path), files=12, mode="parted"))
    assert status == "Finished", [(s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
    rows = _rows(run.find_step_run("score")[0], tmp_path)
    assert sorted((part, name) for part, name, _ in rows) == sorted((f"p{i % 6}", f"f{i:02d}.txt") for i in range(12))
    assert {node for *_, node in rows} == {"0", "1"}  # node 1 got its partitions' files shipped, values along


def test_remote_nodes_run_in_the_step_environment(dask_ws, tmp_path: Path):
    from environments.wheels import make_wheel, offline
    from headrace import CondaDependencies, Environment

    make_wheel(tmp_path / "wheels", "hrtoy", "1.0")  # the workers run on this machine: the folder is theirs too
    env = Environment("toy-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==1.0", *offline(tmp_path / "wheels")])
    run, status = _submit(dask_ws, _step(dask_ws, tmp_path, _marks(tmp_path), files=8, mode="env", environment=env))
    assert status == "Finished", [(s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
    [child] = run.find_step_run("score")
    rows = _rows(child, tmp_path)
    assert sorted(name for name, *_ in rows) == [f"f{i:02d}.txt" for i in range(8)]
    assert {(version, in_venv) for _, version, in_venv, _ in rows} == {("1.0", "True")}  # hrtoy, in a venv
    assert {node for *_, node in rows} == {"0", "1"}  # node 1's rows: its processes imported hrtoy too


def test_an_init_failing_on_the_remote_node_fails_the_step_with_its_traceback(dask_ws, tmp_path: Path):
    run, status = _submit(dask_ws, _step(dask_ws, tmp_path, _marks(tmp_path), files=6, mode="initfail"))
    assert status == "Failed"
    [child] = run.find_step_run("score")
    stderr = child.get_stderr_log()
    assert "init() of the entry script failed in worker node1.process" in stderr, stderr
    assert "RuntimeError: no model on node 1" in stderr, stderr


def test_a_node_whose_dask_worker_is_killed_hands_its_mini_batches_to_the_other(tmp_path: Path, monkeypatch,
                                                                                wait_until):
    cluster = DaskCluster(tmp_path / "killable", workers=2, threads=1)
    try:
        ws = make_dask_ws(tmp_path / "home", cluster.address, monkeypatch)
        marks = _marks(tmp_path)
        run = Experiment(ws, "prs-kill").submit(Pipeline(workspace=ws, steps=[_step(ws, tmp_path, marks, 8, "kill")]))
        running = wait_until(lambda: [p for p in marks.iterdir() if p.name.startswith("ran-1-")], timeout=120,
                             message="node 1 running a mini-batch")
        victim = _worker_folder(running[0].read_text(), cluster)
        cluster.kill(victim)
        assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
            (s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
        [child] = run.find_step_run("score")
        rows = _rows(child, tmp_path)
        assert sorted(name for name, *_ in rows) == [f"f{i:02d}.txt" for i in range(8)]
        assert {_worker_folder(cwd, cluster) for *_, cwd in rows} == {"w0", "w1"} - {victim}
        stdout = child.get_stdout_log()
        # Which the driver notices first, the worker's pipe or the node's, is a race: both end the same way. When
        # the pipe is first, the other node may finish the run before the node's loss is noticed (not logged then).
        assert ("node 1 on Dask worker" in stdout and "was lost" in stdout) or "it was replaced" in stdout, stdout
        assert re.search(r"worker node1\.process\d exited \((node 1 lost|its connection closed on node 1)\) "
                         r"during run\(\); (its node is gone|it was replaced)", stdout), stdout
        assert child.get_metrics()["mini_batch_retries"] >= 1
    finally:
        cluster.stop()
