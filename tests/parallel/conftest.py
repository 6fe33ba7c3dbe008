"""Fixtures for ParallelRunStep tests: a local workspace with a folder of small files and a CSV table."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import Workspace

SCORE = '''
import os, time

def init():
    global prefix
    prefix = "scored"
    with open(os.path.join(os.environ["INIT_LOG"], f"init-{os.getpid()}"), "a") as f:
        f.write("1")

def _count(folder, full=False):
    return sum(1 for n in os.listdir(folder) if not full or open(os.path.join(folder, n)).read())

def run(mini_batch):
    # Held (bounded) until every worker finished init() and two of them ran a mini-batch: the mini-batches
    # spread over the workers whatever order they start in, and none is stopped half-way through init().
    workers = int(os.environ.get("WORKERS", "1"))
    ran = os.environ["INIT_LOG"] + ".ran"
    os.makedirs(ran, exist_ok=True)
    open(os.path.join(ran, str(os.getpid())), "a").close()
    deadline = time.monotonic() + 60
    while (_count(os.environ["INIT_LOG"], full=True) < workers or _count(ran) < min(2, workers)) \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    return [f"{os.path.basename(p)}: {prefix} {len(open(p).read())} {os.getpid()}" for p in mini_batch]
'''


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "home")
    files = tmp_path / "files"
    files.mkdir()
    for i in range(23):
        (files / f"f{i:02d}.txt").write_text("x" * i)
    ws.get_default_datastore().upload(files, target_path="files")
    table = tmp_path / "table"
    table.mkdir()
    (table / "a.csv").write_text("k,v\n" + "".join(f"{i % 3},{i}\n" for i in range(40)))
    (table / "b.csv").write_text("k,v\n" + "".join(f"{i % 3},{i}\n" for i in range(40, 60)))
    ws.get_default_datastore().upload(table, target_path="table")
    return ws


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "score.py").write_text(SCORE)
    (tmp_path / "init-log").mkdir()
    return folder
