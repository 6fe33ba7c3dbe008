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

def run(mini_batch):
    # Until every worker has started, so that the mini-batches spread over all of them.
    deadline = time.monotonic() + 60
    while len(os.listdir(os.environ["INIT_LOG"])) < int(os.environ.get("WORKERS", "1")) and time.monotonic() < deadline:
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
