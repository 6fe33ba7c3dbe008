"""ParallelRunStep over many small files against a plain ``multiprocessing.Pool`` over the same files.

The work: N small files (default 10,000) on the workspace's local default datastore; a trivial ``run()``
that reads each file of its mini-batch and returns one line per file (``name: bytes``).

- **headrace**: a one-step pipeline, ``ParallelRunStep`` over the folder as a ``DataPath`` input (read in
  place), ``mini_batch_size`` files per ``run()`` call, ``process_count_per_node`` workers, ``append_row``;
  timed from ``Experiment.submit`` to the return of ``wait_for_completion(show_output=False)``. Cold runs
  (``regenerate_outputs=True``: the input's reuse fingerprint is taken while the step starts, see
  ``engine/late_keys.py``). The step run's own start -> end span is reported as **step**.
- **floor**: what a user would write instead: list the files, cut them into the same mini-batches,
  ``multiprocessing.Pool(processes).map(score, batches)`` with a worker initializer (the ``init()``), and
  write the returned lines to one file; timed from the listing to the file closed, Pool start included.
- **dataset** (reported, not judged): the same step over a registered ``FileDataset`` of the files,
  which copies them into the step's folder first (``as_mount``).

- **dask** (with ``--dask``; reported, not judged): the step (``DataPath`` input) on a real Dask cluster
  of two ``dask worker`` processes of one thread each on this machine (the workspace's folders declared
  mounted), with ``node_count=1`` and with ``node_count=2`` (``processes`` per node in both: a second
  node adds a machine's processes; node 1 is a task on the other worker whose processes get each
  mini-batch's files as bytes over a socket). ``--dask-ms`` makes each file cost that many milliseconds
  of waiting in ``run()`` (an I/O-bound scorer, e.g. one calling a model server): both workers share this
  machine's cores, so only waiting work can show what a second node adds here.

The files are left to settle (``content_hashes.RACY_SECONDS``) before the first submission, which reads and
hashes every file (reported, not judged). Repetitions alternate floor and headrace after one warm-up of each;
the dataset runs come after them (their clean-up would run into the next round); medians are reported and
the goal (headrace <= 1.3x floor) is judged on them. Exit status 1 when the goal is missed.

Usage:
    python benchmarks/parallel_run.py [--files 10000] [--batch 10] [--processes 2] [--repeat 3]
                                      [--dask] [--dask-ms 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RATIO_GOAL = 1.3

ENTRY = """\
import os

def init():
    global prefix
    prefix = ""

def run(mini_batch):
    out = []
    for path in mini_batch:
        with open(path, "rb") as f:
            out.append(f"{prefix}{os.path.basename(path)}: {len(f.read())}")
    return out
"""


DASK_ENTRY = """\
import argparse, os, time

def init():
    global wait
    parser = argparse.ArgumentParser()
    parser.add_argument("--ms", type=float, default=0)
    wait = parser.parse_known_args()[0].ms

def run(mini_batch):
    out = []
    for path in mini_batch:
        with open(path, "rb") as f:
            out.append(f"{os.path.basename(path)}: {len(f.read())}")
        if wait:
            time.sleep(wait / 1000)
    return out
"""


def _init() -> None:
    global _prefix
    _prefix = ""


def _score(batch: list[str]) -> list[str]:
    out = []
    for path in batch:
        with open(path, "rb") as f:
            out.append(f"{_prefix}{os.path.basename(path)}: {len(f.read())}")
    return out


def floor(folder: Path, batch: int, processes: int, out: Path) -> float:
    t0 = time.perf_counter()
    files = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]
    with multiprocessing.get_context("fork").Pool(processes, initializer=_init) as pool:
        results = pool.map(_score, batches)
    with open(out, "w", encoding="utf-8") as f:
        for lines in results:
            f.write("".join(f"{line}\n" for line in lines))
    return time.perf_counter() - t0


def make_files(home: Path, n: int) -> Path:
    folder = home.parent / "files"
    for i in range(n):
        sub = folder / f"d{i // 1000:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_bytes(b"x" * (50 + i % 100))
    return folder


def headrace_run(ws, step) -> tuple[float, float, str, Any]:
    from headrace import Experiment, Pipeline

    t0 = time.perf_counter()
    run = Experiment(ws, "bench-prs").submit(Pipeline(workspace=ws, steps=[step]), regenerate_outputs=True)
    status = run.wait_for_completion(show_output=False, raise_on_error=False)
    total = time.perf_counter() - t0
    [child] = list(run.get_children())
    rec = child._record
    return total, (rec.ended_at - rec.started_at).total_seconds(), status, child


def dask_rounds(tmp: Path, ws_home: Path, folder: str, a: argparse.Namespace) -> list[dict[str, float]]:
    """The ``--dask`` cases: (node_count=1, processes) and (node_count=2, processes / 2 each), step times."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dask"))
    from dask_cluster import DaskCluster

    from headrace import (
        ComputeTarget,
        DaskCompute,
        DataPath,
        ParallelRunConfig,
        ParallelRunStep,
        PipelineData,
        Workspace,
    )

    cluster = DaskCluster(tmp / "cluster", workers=2, threads=1)
    try:
        ws = Workspace(ws_home)
        ComputeTarget.attach(ws, "bench", DaskCompute.attach_configuration(address=cluster.address,
                                                                           mounted_paths=[str(tmp)]))
        store = ws.get_default_datastore()
        steps = {}
        for nodes in (1, 2):
            config = ParallelRunConfig(environment=None, entry_script="score_dask.py",
                                       source_directory=str(tmp / "src"), mini_batch_size=a.batch, error_threshold=0,
                                       output_action="append_row", compute_target="bench", node_count=nodes,
                                       process_count_per_node=a.processes)
            steps[nodes] = ParallelRunStep(name=f"score-dask{nodes}", parallel_run_config=config,
                                           inputs=[DataPath(store, folder)], arguments=["--ms", a.dask_ms],
                                           output=PipelineData(f"scores_dask{nodes}", datastore=store))
        for step in steps.values():
            headrace_run(ws, step)  # warm-up: the workers' snapshot caches and interpreters
        rounds = []
        for _ in range(a.repeat):
            one, one_step, s1, _ = headrace_run(ws, steps[1])
            two, two_step, s2, child = headrace_run(ws, steps[2])
            if (s1, s2) != ("Finished", "Finished"):
                raise SystemExit(f"a Dask run ended {s1} / {s2}")
            share = child.get_stdout_log().count(" done on node1.")  # mini-batches node 1 ran (INFO lines)
            rounds.append({"dask1": one, "dask1_step": one_step, "dask2": two, "dask2_step": two_step,
                           "dask2_node1_batches": share})
        return rounds
    finally:
        cluster.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dask", action="store_true", help="also on a local two-worker Dask cluster, 1 and 2 nodes")
    p.add_argument("--dask-ms", type=float, default=0.0, help="--dask: milliseconds of waiting per file in run()")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()

    from headrace import DataPath, Dataset, ParallelRunConfig, ParallelRunStep, PipelineData, Workspace

    tmp = Path(tempfile.mkdtemp(prefix="headrace-bench-prs-"))
    home = tmp / "home"
    ws = Workspace(home)
    folder = make_files(home, a.files)
    store = ws.get_default_datastore()
    store.upload(str(folder), target_path="files", overwrite=True)
    local = Path(store.root_uri.removeprefix("file://")) / "files"
    (tmp / "src").mkdir()
    (tmp / "src" / "score.py").write_text(ENTRY)
    (tmp / "src" / "score_dask.py").write_text(DASK_ENTRY)
    config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory=str(tmp / "src"),
                               mini_batch_size=a.batch, error_threshold=0, output_action="append_row",
                               compute_target="local", node_count=1, process_count_per_node=a.processes)
    by_path = ParallelRunStep(name="score", parallel_run_config=config, inputs=[DataPath(store, "files")],
                              output=PipelineData("scores", datastore=store))
    dataset = Dataset.File.from_files((store, "files/**")).register(ws, "bench-files")
    by_dataset = ParallelRunStep(name="score-ds", parallel_run_config=config,
                                 inputs=[dataset.as_named_input("files")], output=PipelineData("scores_ds"))

    # The input as a user's data sits: written before the submission. A file changed in the last RACY_SECONDS is
    # read and hashed on every submission (its stat cannot vouch for its content yet); the first submission
    # below hashes every file (reported as "first"), the rounds find them unchanged.
    from headrace.datastores.content_hashes import RACY_SECONDS

    time.sleep(max(0.0, RACY_SECONDS + 0.1 - (time.time() - max(p.stat().st_ctime for p in local.rglob("*")))))
    rounds: list[dict[str, float]] = []
    floor(local, a.batch, a.processes, tmp / "floor.txt")  # warm-up
    first, *_ = headrace_run(ws, by_path)
    for _ in range(a.repeat):
        f = floor(local, a.batch, a.processes, tmp / "floor.txt")
        hr, step, status, _ = headrace_run(ws, by_path)
        if status != "Finished":
            print(f"a run ended {status}", file=sys.stderr)
            return 1
        rounds.append({"floor": f, "headrace": hr, "step": step})
    # After the judged rounds: removing a dataset run's 10,000 staged files, which its agent does once the run
    # ended, would otherwise run into the next round's floor and headrace.
    for r in rounds:
        ds, ds_step, ds_status, _ = headrace_run(ws, by_dataset)
        if ds_status != "Finished":
            print(f"a dataset run ended {ds_status}", file=sys.stderr)
            return 1
        r.update(dataset=ds, dataset_step=ds_step)
    if a.dask:
        for extra, r in zip(dask_rounds(tmp, home, "files", a), rounds, strict=True):
            r.update(extra)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    ratio = med["headrace"] / med["floor"]
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
        "cpus": os.cpu_count(), "files": a.files, "batch": a.batch, "processes": a.processes,
        "medians": med, "first_headrace": first, "ratio": ratio, "step_ratio": med["step"] / med["floor"],
        "dataset_ratio": med["dataset"] / med["floor"],
        "goal": RATIO_GOAL, "met": ratio <= RATIO_GOAL, "rounds": rounds,
    }
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{a.files} files, mini_batch_size {a.batch}, {a.processes} processes, {a.repeat} rounds (medians)")
        print(f"floor (multiprocessing.Pool)      {med['floor']:.3f} s")
        print(f"headrace ParallelRunStep (path)   {med['headrace']:.3f} s  = {ratio:.2f}x floor  goal <= {RATIO_GOAL}x: "
              f"{'met' if report['met'] else 'MISSED'}")
        print(f"  its step run alone                {med['step']:.3f} s  = {report['step_ratio']:.2f}x floor "
              "(without submit and the wait; the input's reuse fingerprint runs alongside)")
        print(f"  first submission                  {first:.3f} s  (the warm-up: the agent's first run, every file read and hashed; "
              "not judged)")
        print(f"headrace ParallelRunStep (dataset) {med['dataset']:.3f} s = {report['dataset_ratio']:.2f}x floor "
              f"(step run {med['dataset_step']:.3f} s; files staged first; not judged)")
        for nodes in (1, 2) if a.dask else ():
            print(f"dask, node_count={nodes} x {a.processes} process(es), {a.dask_ms:g} ms per file "
                  f"{med[f'dask{nodes}']:.3f} s = {med[f'dask{nodes}'] / med['floor']:.2f}x floor "
                  f"(step run {med[f'dask{nodes}_step']:.3f} s; not judged)")
        if a.dask:
            print(f"  node 1's share with node_count=2: {med['dask2_node1_batches']:.0f} of "
                  f"{-(-a.files // a.batch)} mini-batches (median)")
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
