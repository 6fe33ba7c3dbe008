"""A ParallelRunStep with node_count=2 on a real two-worker Dask cluster: node 0 on the step's worker, node 1 a
Dask task on the other worker, its processes connected back to the driver; and a node's worker killed mid-run.

The entry script's rows name the process (pid), how often ``init()`` ran in it and its working folder (under
its Dask worker's own folder: proof of which worker ran the mini-batch). Markers in a folder of the test
machine make both nodes take mini-batches: node 0's ``run()`` waits (bounded) until node 1's two processes
have started.
"""

from __future__ import annotations

import os
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

def _marks():
    p = argparse.ArgumentParser(); p.add_argument("--marks"); p.add_argument("--block", default="")
    return p.parse_known_args()[0]

def init():
    global INITS, ARGS, NODE
    INITS += 1
    ARGS, NODE = _marks(), int(os.environ["HEADRACE_PARALLEL_NODE"])
    with open(os.path.join(ARGS.marks, f"init-{NODE}-{os.getpid()}"), "w") as f:
        f.write(os.getcwd())

def _wait_for(prefix, count=1):
    deadline = time.monotonic() + 120
    while sum(n.startswith(prefix) for n in os.listdir(ARGS.marks)) < count and time.monotonic() < deadline:
        time.sleep(0.05)

def run(mini_batch):
    if NODE == 0:
        _wait_for("init-1-", 2) if not ARGS.block else _wait_for("running-")
    elif ARGS.block:
        with open(os.path.join(ARGS.marks, f"running-{os.getpid()}"), "w") as f:
            f.write(os.getcwd())
        _wait_for("never-")
    return [f"{os.path.basename(p)} {len(open(p).read())} {os.getpid()} {INITS} {os.getcwd()}" for p in mini_batch]
'''


def _step(ws, tmp_path: Path, marks: Path, files: int, block: bool = False) -> ParallelRunStep:
    lake = Datastore(ws, "lake")
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(files):
        (folder / f"f{i:02d}.txt").write_text("y" * i)
    lake.upload(str(folder), target_path="docs", overwrite=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text(SCORE)
    config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory=str(tmp_path / "src"),
                               mini_batch_size=1, error_threshold=0, output_action="append_row",
                               compute_target="cluster", node_count=2, process_count_per_node=2)
    dataset = Dataset.File.from_files((lake, "docs/*.txt"))
    arguments = ["--marks", str(marks)] + (["--block", "1"] if block else [])
    return ParallelRunStep(name="score", parallel_run_config=config, inputs=[dataset.as_named_input("docs")],
                           output=PipelineData("scores", datastore=lake), arguments=arguments, allow_reuse=False)


def _rows(child, tmp_path: Path) -> list[list[str]]:
    target = tmp_path / "got"
    child.get_output_data("scores").download(local_path=str(target))
    [rows_file] = list(target.rglob("parallel_run_step.txt"))
    return [line.split(" ") for line in rows_file.read_text().splitlines()]


def _worker_folder(path: str, cluster: DaskCluster) -> str:
    return Path(path).relative_to(cluster.folder).parts[0]


def test_two_nodes_spread_mini_batches_over_both_dask_workers(dask_ws, dask_cluster, tmp_path: Path):
    marks = tmp_path / "marks"
    marks.mkdir()
    step = _step(dask_ws, tmp_path, marks, files=12)
    run = Experiment(dask_ws, "prs-nodes").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.error, s.get_stdout_log()) for s in run.get_steps()]
    [child] = run.find_step_run("score")
    rows = _rows(child, tmp_path)
    assert sorted((name, int(size)) for name, size, *_ in rows) == [(f"f{i:02d}.txt", i) for i in range(12)]
    assert {inits for *_, inits, _cwd in rows} == {"1"}  # init() once per process
    by_worker = {_worker_folder(cwd, dask_cluster) for *_, cwd in rows}
    assert by_worker == {"w0", "w1"}, rows
    inits = sorted(os.listdir(marks))
    assert len(inits) == 4 and {name.split("-")[1] for name in inits} == {"0", "1"}, inits  # 2 nodes x 2
    assert {pid for _, _, pid, *_ in rows} <= {name.split("-")[2] for name in inits}
    stdout = child.get_stdout_log()
    assert "node 1 up on Dask worker" in stdout and "[node1.process" not in stdout.split("node 1 up")[0]
    assert child.get_metrics()["mini_batches_done"] == 12


def test_a_node_whose_dask_worker_is_killed_hands_its_mini_batches_to_the_other(tmp_path: Path, monkeypatch,
                                                                                wait_until):
    cluster = DaskCluster(tmp_path / "killable", workers=2, threads=1)
    try:
        ws = make_dask_ws(tmp_path / "home", cluster.address, monkeypatch)
        marks = tmp_path / "marks"
        marks.mkdir()
        run = Experiment(ws, "prs-kill").submit(Pipeline(workspace=ws, steps=[_step(ws, tmp_path, marks, 8, True)]))
        running = wait_until(lambda: [p for p in marks.iterdir() if p.name.startswith("running-")], timeout=120,
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
        assert "node 1 on Dask worker" in stdout and "was lost" in stdout, stdout
        assert "(node 1 lost) during run(); its node is gone" in stdout, stdout
        assert child.get_metrics()["mini_batch_retries"] >= 1
    finally:
        cluster.stop()
