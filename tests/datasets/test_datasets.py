"""Datasets through the SDK on an embedded workspace: definitions, versions pinned to their files, reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headrace import DataPath, Dataset, DataType, FileDataset, TabularDataset, Workspace
from headrace.errors import AlreadyExistsError, ConfigError, DatasetError, NotFoundError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "home")
    data = tmp_path / "data"
    (data / "2024").mkdir(parents=True)
    (data / "2025").mkdir()
    (data / "2024" / "jan.csv").write_text("city,temp\nOslo,-3\nRome,12\n")
    (data / "2025" / "feb.csv").write_text("city,temp\nLima,24\n")
    (data / "2025" / "notes.txt").write_text("not a table\n")
    ws.get_default_datastore().upload(data, target_path="weather")
    return ws


def local(ws: Workspace, path: str) -> Path:
    return Path(ws.get_default_datastore().root_uri.removeprefix("file://")) / path


def test_from_files_takes_globs_folders_files_and_data_paths(ws):
    ds = ws.get_default_datastore()
    assert Dataset.File.from_files((ds, "weather/**/*.csv")).to_path() == ["/2024/jan.csv", "/2025/feb.csv"]
    assert Dataset.File.from_files((ds, "weather/2025")).to_path() == ["/feb.csv", "/notes.txt"]
    assert Dataset.File.from_files(DataPath(ds, "weather/2024/jan.csv")).to_path() == ["/jan.csv"]
    both = Dataset.File.from_files([(ds, "weather/2024/*.csv"), (ds, "weather/2025/*.txt")])
    assert both.to_path() == ["/2024/jan.csv", "/2025/notes.txt"]


def test_a_version_is_pinned_to_the_bytes_it_was_registered_with(ws):
    ds = ws.get_default_datastore()
    v1 = Dataset.File.from_files((ds, "weather/**/*.csv")).register(ws, "weather", description="daily", tags={"t": "1"})
    assert (v1.name, v1.version, v1.description, v1.tags) == ("weather", 1, "daily", {"t": "1"})
    with pytest.raises(AlreadyExistsError, match="create_new_version=True"):
        Dataset.File.from_files((ds, "weather/**/*.csv")).register(ws, "weather")
    same = Dataset.File.from_files((ds, "weather/**/*.csv")).register(ws, "weather", create_new_version=True)
    assert same.version == 1 and same.id == v1.id  # nothing changed: no copy
    (local(ws, "weather/2025") / "mar.csv").write_text("city,temp\nCairo,30\n")
    v2 = Dataset.File.from_files((ds, "weather/**/*.csv")).register(ws, "weather", create_new_version=True)
    assert v2.version == 2
    assert Dataset.get_by_name(ws, "weather", version=1).to_path() == ["/2024/jan.csv", "/2025/feb.csv"]
    assert len(Dataset.get_by_name(ws, "weather").to_path()) == 3
    assert Dataset.get_by_id(ws, v1.id).version == 1
    path = local(ws, "weather/2024/jan.csv")
    path.write_text("city,temp\nOslo,-30\nRome,12\n")
    os.utime(path, ns=(1, 1))
    with pytest.raises(DatasetError, match=r"'weather:1': file workspaceblobstore:weather/2024/jan.csv changed"):
        Dataset.get_by_name(ws, "weather", 1).download(ws.home / "dl")
    path.unlink()
    with pytest.raises(DatasetError, match="jan.csv vanished"):
        Dataset.get_by_name(ws, "weather", 2).to_path()


def test_lookups_name_what_exists(ws):
    Dataset.File.from_files((ws.get_default_datastore(), "weather")).register(ws, "all")
    with pytest.raises(NotFoundError, match="registered datasets: all"):
        Dataset.get_by_name(ws, "nope")
    with pytest.raises(NotFoundError, match="versions of 'all': 1"):
        Dataset.get_by_name(ws, "all", version=4)
    assert sorted(Dataset.get_all(ws)) == ["all"]
    with pytest.raises(DatasetError, match="knows no workspace: build it from \\(datastore, path\\)"):
        Dataset.File.from_files(("a-store-name", "x")).to_path()


def test_tags_description_and_unregistering(ws):
    v1 = Dataset.File.from_files((ws.get_default_datastore(), "weather")).register(ws, "w", tags={"a": "1"})
    assert v1.add_tags({"b": "2"}).tags == {"a": "1", "b": "2"}
    assert v1.remove_tags(["a"]).tags == {}
    assert v1.update(description="new").description == "new"
    v1.unregister_all_versions()
    assert Dataset.get_all(ws) == {}
    assert Dataset.get_by_id(ws, v1.id).to_path()  # a version a run may have used stays readable by id


def test_a_glob_matching_nothing_warns_at_definition_and_fails_at_use(ws):
    with pytest.warns(UserWarning, match=r"its paths match no file \(workspaceblobstore:nowhere/\*\.csv\)"):
        empty = Dataset.File.from_files((ws.get_default_datastore(), "nowhere/*.csv"))
    with pytest.raises(DatasetError, match="match no file"):
        empty.to_path()
    with pytest.warns(UserWarning, match="matches no file now"):
        empty.register(ws, "empty")
    with pytest.raises(DatasetError, match="matches no file"):
        Dataset.get_by_name(ws, "empty").download(ws.home / "x")


def test_download_mount_and_file_transforms(ws, tmp_path):
    files = Dataset.File.from_files((ws.get_default_datastore(), "weather"))
    got = files.download(tmp_path / "dl")
    assert sorted(Path(p).relative_to(tmp_path / "dl").as_posix() for p in got) == [
        "2024/jan.csv", "2025/feb.csv", "2025/notes.txt"]
    with pytest.raises(DatasetError, match="exists; pass overwrite=True"):
        files.download(tmp_path / "dl")
    with files.mount() as folder:
        assert (Path(folder) / "2024" / "jan.csv").read_text().startswith("city")
    assert not Path(folder).exists()
    assert files.skip(1).take(1).to_path() == ["/2025/feb.csv"]
    left, right = files.random_split(0.5, seed=1)
    assert sorted(left.to_path() + right.to_path()) == files.to_path()


def test_tabular_reads_transforms_and_types(ws):
    ds = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((ds, "weather/**/*.csv"), set_column_types={"temp": DataType.to_float()},
                                                 include_path=True)
    assert isinstance(table, TabularDataset)
    frame = table.to_pandas_dataframe()
    assert list(frame.columns) == ["Path", "city", "temp"] and frame["temp"].tolist() == [-3.0, 12.0, 24.0]
    assert frame["Path"].tolist() == ["/weather/2024/jan.csv"] * 2 + ["/weather/2025/feb.csv"]
    assert table.skip(1).take(1).keep_columns(["city"]).to_pandas_dataframe().to_dict("list") == {"city": ["Rome"]}
    assert list(table.drop_columns("Path").to_pandas_dataframe().columns) == ["city", "temp"]
    no_header = Dataset.Tabular.from_delimited_files((ds, "weather/2025/feb.csv"), header=False)
    assert list(no_header.to_pandas_dataframe().columns) == ["Column1", "Column2"]
    with pytest.raises(DatasetError, match="keep_columns names 'nope'"):
        table.keep_columns("nope").to_pandas_dataframe()
    v = table.register(ws, "weather-table")
    assert isinstance(Dataset.get_by_name(ws, "weather-table"), TabularDataset) and v.version == 1


def test_a_file_that_does_not_parse_is_named_with_its_line(ws):
    local(ws, "weather/2025/bad.csv").write_text("city,temp\nA,1\nB,2,3,4\n")
    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "weather/2025/bad.csv"))
    with pytest.raises(DatasetError, match=r"workspaceblobstore:weather/2025/bad.csv does not parse: .*line 3"):
        table.to_pandas_dataframe()


def test_parquet_and_json_lines(ws, tmp_path):
    import pandas as pd

    pd.DataFrame({"a": [1, 2]}).to_parquet(tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text('{"a": 3}\n{"a": 4}\n')
    ds = ws.get_default_datastore()
    ds.upload_files([tmp_path / "t.parquet", tmp_path / "t.jsonl"], target_path="tables")
    assert Dataset.Tabular.from_parquet_files((ds, "tables/*.parquet")).to_pandas_dataframe()["a"].tolist() == [1, 2]
    assert Dataset.Tabular.from_json_lines_files((ds, "tables/*.jsonl")).to_pandas_dataframe()["a"].tolist() == [3, 4]


def test_bad_paths_and_remote_workspaces_say_what_to_do(ws, tmp_path, monkeypatch):
    from headrace.errors import DatastoreError, DefinitionError

    with pytest.raises(DefinitionError, match="give a \\(datastore, 'path/or/glob'\\) tuple"):
        Dataset.File.from_files("weather/*.csv")
    monkeypatch.chdir(tmp_path)  # a URL dataset uses the configured workspace: this folder's
    url = Dataset.File.from_files("https://example.invalid/data.csv", validate=False)
    assert isinstance(url, FileDataset)
    with pytest.raises(DatastoreError, match="cannot reach https://example.invalid/data.csv"):
        url.to_path()
    with pytest.raises(ConfigError, match="serves no datasets"):
        from headrace.sdk.dataset_backend import datasets_of

        class Remote:
            _backend = object()

        datasets_of(Remote())
