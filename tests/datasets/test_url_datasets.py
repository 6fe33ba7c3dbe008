"""Datasets on http(s) URLs (Azure ML's ``Dataset.File.from_files("https://...")``), against a real HTTP
server on loopback: pinned by the server's validator, staged for steps, refused when the file changes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace import (
    Dataset,
    DatasetConsumptionConfig,
    Experiment,
    Pipeline,
    PipelineParameter,
    PythonScriptStep,
    Workspace,
)
from headrace.errors import DatasetError
from loopback import serve_folder


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "site"
    root.mkdir()
    (root / "Titanic.csv").write_text("Name,Age\nA,22\nB,38\n")
    with serve_folder(root) as url:
        yield url, root


STEP = """
from headrace import Run
frame = Run.get_context().input_datasets["titanic"].to_pandas_dataframe()
print("ages", frame["Age"].sum())
"""


def test_a_url_dataset_reads_registers_and_feeds_a_step(site, tmp_path):
    url, root = site
    ws = Workspace(tmp_path / "home")
    files = Dataset.File.from_files(f"{url}/Titanic.csv")
    table = Dataset.Tabular.from_delimited_files(f"{url}/Titanic.csv")
    files._workspace = table._workspace = ws  # the notebook's workspace (Workspace.from_config() otherwise)
    assert files.to_path() == ["/Titanic.csv"]
    assert table.to_pandas_dataframe()["Age"].tolist() == [22, 38]
    version = table.register(ws, "titanic")
    assert version._record.file_count == 1
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "s.py").write_text(STEP)
    param = PipelineParameter("titanic_param", default_value=version)
    step = PythonScriptStep(name="s", script_name="s.py", source_directory=str(tmp_path / "steps"),
                            inputs=[DatasetConsumptionConfig("titanic", param)])
    run = Experiment(ws, "web").submit(Pipeline(workspace=ws, steps=[step]))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    got = files.register(ws, "titanic-files").download(tmp_path / "dl")
    assert [Path(p).name for p in got] == ["Titanic.csv"]
    (root / "Titanic.csv").write_text("Name,Age\nA,23\nB,38\nC,1\n")
    os.utime(root / "Titanic.csv", (2_000_000_000, 2_000_000_000))
    with pytest.raises(DatasetError, match=r"file @web:http://127\.0\.0\.1:\d+/Titanic\.csv changed"):
        Dataset.get_by_name(ws, "titanic").to_pandas_dataframe()


def test_a_url_that_does_not_answer_is_named(tmp_path, site):
    url, _ = site
    ws = Workspace(tmp_path / "home")
    missing = Dataset.File.from_files(f"{url}/nope.csv", validate=False)
    missing._workspace = ws
    with pytest.raises(DatasetError, match="its paths match no file"):
        missing.to_path()
