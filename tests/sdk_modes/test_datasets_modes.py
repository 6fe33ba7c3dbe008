"""Datasets through the SDK on both backends: an embedded workspace and a remote one (REST)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import Dataset, Workspace
from headrace.errors import AlreadyExistsError, DatasetError, NotFoundError


@pytest.fixture
def data(ws: Workspace, tmp_path: Path) -> Workspace:
    folder = tmp_path / "upload"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "1.csv").write_text("k,v\nx,1\ny,2\n")
    (folder / "a" / "2.csv").write_text("k,v\nz,3\n")
    (folder / "a" / "skip.txt").write_text("no\n")
    ws.get_default_datastore().upload(folder, target_path="tables", overwrite=True)
    return ws


def test_register_version_and_read_back(data, tmp_path):
    ws = data
    store = ws.get_default_datastore()
    files = Dataset.File.from_files((store, "tables/**/*.csv"))
    assert files.to_path() == ["/a/1.csv", "/a/2.csv"]
    v1 = files.register(ws, "tables", description="two files", tags={"k": "v"})
    assert (v1.name, v1.version, v1.tags) == ("tables", 1, {"k": "v"})
    with pytest.raises(AlreadyExistsError):
        files.register(ws, "tables")
    got = Dataset.get_by_name(ws, "tables")
    assert got.id == v1.id and got.description == "two files"
    assert sorted(Path(p).name for p in got.download(tmp_path / "dl")) == ["1.csv", "2.csv"]
    assert Dataset.get_by_id(ws, v1.id).to_path() == ["/a/1.csv", "/a/2.csv"]
    assert got.add_tags({"more": "1"}).tags == {"k": "v", "more": "1"}
    assert sorted(Dataset.get_all(ws)) == ["tables"]
    with pytest.raises(NotFoundError, match="versions of 'tables': 1"):
        Dataset.get_by_name(ws, "tables", version=3)


def test_tabular_over_both_backends(data):
    table = Dataset.Tabular.from_delimited_files((data.get_default_datastore(), "tables/a/*.csv"))
    assert table.to_pandas_dataframe().to_dict("list") == {"k": ["x", "y", "z"], "v": [1, 2, 3]}
    table.register(data, "kv")
    assert Dataset.get_by_name(data, "kv").take(1).to_pandas_dataframe()["k"].tolist() == ["x"]


def test_a_changed_file_fails_the_version_by_name(data, tmp_path):
    store = data.get_default_datastore()
    v1 = Dataset.File.from_files((store, "tables/a/1.csv")).register(data, "one")
    (tmp_path / "1.csv").write_text("k,v\nchanged,9\n")
    store.upload_files([tmp_path / "1.csv"], target_path="tables/a", overwrite=True)
    with pytest.raises(DatasetError, match="tables/a/1.csv changed since this version was registered"):
        Dataset.get_by_id(data, v1.id).to_path()
    v1.unregister_all_versions()
    assert Dataset.get_all(data) == {}


def test_an_unregistered_datasets_id_saves_it_for_rest_assignments(data):
    files = Dataset.File.from_files((data.get_default_datastore(), "tables/a/*.csv"))
    first = files.id
    assert first and files.id == first  # read twice: one saved version
    again = Dataset.File.from_files((data.get_default_datastore(), "tables/a/*.csv"))
    assert again.id == first  # the same definition and files: the same id
    saved = Dataset.get_by_id(data, first)
    assert saved.name is None and saved.to_path() == ["/1.csv", "/2.csv"]
    assert Dataset.get_all(data) == {}  # saved, not registered


def test_to_csv_and_parquet_files_write_the_rows_once(data, tmp_path):
    ws = data
    store = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((store, "tables/a/*.csv")).skip(1)
    as_csv = table.to_csv_files(separator=";")
    assert as_csv.to_path() == ["/part-00000.csv"]
    [source] = as_csv._definition["sources"]
    assert source["datastore"] == "workspaceblobstore" and source["path"].startswith("converted/")
    [local] = as_csv.download(tmp_path / "csv")
    assert Path(local).read_text() == "k;v\ny;2\nz;3\n"
    assert table.to_csv_files(separator=";")._definition["sources"] == [source]  # same rows, same file
    again = Dataset.Tabular.from_delimited_files((store, source["path"]), separator=";")
    assert again.to_pandas_dataframe().to_dict("list") == {"k": ["y", "z"], "v": [2, 3]}
    as_parquet = table.keep_columns("v").to_parquet_files()
    [parquet] = as_parquet._definition["sources"]
    assert parquet["path"].endswith("/part-00000.parquet")
    back = Dataset.Tabular.from_parquet_files((store, parquet["path"]))
    assert back.to_pandas_dataframe().to_dict("list") == {"v": [2, 3]}


COUNT = """
import argparse, os
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--files"); p.add_argument("--table"); p.add_argument("--out")
a = p.parse_args()
frame = Run.get_context().input_datasets["table"].to_pandas_dataframe()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "count.csv"), "w").write(f"files,rows\\n{sum(len(f) for _, _, f in os.walk(a.files))},{len(frame)}\\n")
"""


def test_a_dataset_pipeline_runs_and_registers_its_output(data, tmp_path):
    from headrace import (
        DatasetConsumptionConfig,
        Experiment,
        OutputFileDatasetConfig,
        Pipeline,
        PipelineParameter,
        PythonScriptStep,
    )

    ws = data
    store = ws.get_default_datastore()
    files = Dataset.File.from_files((store, "tables/**/*.csv")).register(ws, "files")
    table = Dataset.Tabular.from_delimited_files((store, "tables/a/*.csv"))
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "count.py").write_text(COUNT)
    fc = DatasetConsumptionConfig("files", PipelineParameter("files_param", default_value=files)).as_mount()
    out = OutputFileDatasetConfig(name="counted").read_delimited_files().register_on_complete("counts")
    step = PythonScriptStep(name="count", script_name="count.py", source_directory=str(tmp_path / "steps"),
                            arguments=["--files", fc, "--table", table.as_named_input("table"), "--out", out])
    run = Experiment(ws, "datasets").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    counts = Dataset.get_by_name(ws, "counts")
    assert counts.to_pandas_dataframe().to_dict("list") == {"files": [2], "rows": [3]}


def test_partition_formats_and_partition_by_over_both_backends(data):
    store = data.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((store, "tables/*/*.csv"), partition_format="tables/{folder}/{file}.csv")
    v1 = table.register(data, "parted")
    frame = Dataset.get_by_name(data, "parted").to_pandas_dataframe()
    assert v1.partition_keys == ["folder", "file"]
    assert frame.values.tolist() == [["x", 1, "a", "1"], ["y", 2, "a", "1"], ["z", 3, "a", "2"]]
    by_k = table.partition_by(["k"], target=(store, "by_k"), name="by-k")
    assert Dataset.get_by_name(data, "by-k").partition_keys == ["k"]
    assert sorted(by_k.to_pandas_dataframe().values.tolist()) == [[1, "a", "1", "x"], [2, "a", "1", "y"],
                                                                 [3, "a", "2", "z"]]
    with pytest.raises(DatasetError, match="appears twice"):
        Dataset.File.from_files((store, "tables/*/*.csv"), partition_format="{a}/{a}.csv")
