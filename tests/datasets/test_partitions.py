"""partition_format (values carried in paths) and TabularDataset.partition_by, on an embedded workspace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from headrace import Dataset, Workspace
from headrace.core.dataset_partitions import parse_partition_format
from headrace.errors import DatasetError


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "home")
    data = tmp_path / "data"
    for user, season, genre, rows in [("u1", "fall", "jazz", "a,1\nb,2\n"), ("u1", "winter", "rock", "c,3\n"),
                                      ("u2", "fall", "jazz", "d,4\n")]:
        (data / user / season).mkdir(parents=True, exist_ok=True)
        (data / user / season / f"{genre}.csv").write_text("name,n\n" + rows)
    ws.get_default_datastore().upload(data, target_path="music")
    return ws


def test_the_format_matches_the_end_of_a_path_at_a_folder_boundary():
    fmt = parse_partition_format("/music/{user}/{season}/{genre}.csv")
    assert fmt.keys == ("user", "season", "genre")
    assert fmt.values("music/u1/fall/jazz.csv") == {"user": "u1", "season": "fall", "genre": "jazz"}
    assert fmt.values("deep/music/u1/fall/jazz.csv") == {"user": "u1", "season": "fall", "genre": "jazz"}
    assert fmt.values("mymusic/u1/fall/jazz.csv") is None
    assert fmt.values("music/u1/fall/jazz.txt") is None
    dated = parse_partition_format("{Region}/{Day:yyyy/MM/dd}/data.csv")
    assert dated.values("sales/north/2024/03/09/data.csv") == {"Region": "north", "Day": datetime(2024, 3, 9)}


@pytest.mark.parametrize("bad, why", [("", "path pattern"), ("plain/path.csv", "braces"), ("{a}/{a}.csv", "twice"),
                                      ("{a:yyyy-QQ}/x", "date format"), ("{}/x", "not a key name"),
                                      ("{a}/{b", "braces")])
def test_a_bad_format_says_what_is_wrong(ws, bad, why):
    with pytest.raises(DatasetError, match=why):
        Dataset.File.from_files((ws.get_default_datastore(), "music/**/*.csv"), partition_format=bad)


def test_file_and_tabular_datasets_carry_the_keys(ws):
    ds = ws.get_default_datastore()
    files = Dataset.File.from_files((ds, "music/*/*/*.csv"), partition_format="music/{user}/{season}/{genre}.csv")
    assert files.partition_keys == ["user", "season", "genre"]
    assert Dataset.File.from_files((ds, "music/*/*/*.csv")).partition_keys == []
    Dataset.Tabular.from_delimited_files((ds, "music/*/*/*.csv"), partition_format="music/{user}/{season}/"
                                         "{genre}.csv").register(ws, "songs")
    frame = Dataset.get_by_name(ws, "songs").to_pandas_dataframe()
    assert list(frame.columns) == ["name", "n", "user", "season", "genre"]  # the path's values after the file's
    assert frame.values.tolist() == [["a", 1, "u1", "fall", "jazz"], ["b", 2, "u1", "fall", "jazz"],
                                     ["c", 3, "u1", "winter", "rock"], ["d", 4, "u2", "fall", "jazz"]]


def test_a_file_outside_the_format_is_named(ws):
    ds = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((ds, "music/*/*/*.csv"), partition_format="music/{user}/fall/"
                                                 "{genre}.csv")
    with pytest.raises(DatasetError, match=r"music/u1/winter/rock.csv does not fit its partition_format"):
        table.to_pandas_dataframe()


def test_partition_by_writes_one_parquet_file_per_partition_and_reads_back_the_same_rows(ws):
    ds = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((ds, "music/*/*/*.csv"), include_path=False)
    parted = table.partition_by(["name"], target=(ds, "by_name"), name="by-name")
    assert parted.partition_keys == ["name"] and (parted.name, parted.version) == ("by-name", 1)
    frame = parted.to_pandas_dataframe()
    assert list(frame.columns) == ["n", "name"]
    assert sorted(frame.values.tolist()) == [[1, "a"], [2, "b"], [3, "c"], [4, "d"]]
    files = Dataset.File.from_files((ds, "by_name/**")).to_path()
    assert len(files) == 4 and all(f.endswith("/part-00000.parquet") for f in files)
    again = table.partition_by(["name"], target=(ds, "by_name"))  # same rows: same folder, nothing new
    assert Dataset.File.from_files((ds, "by_name/**")).to_path() == files
    assert again.partition_keys == ["name"]
    as_files = table.partition_by(["name"], target=(ds, "by_name"), partition_as_file_dataset=True)
    assert type(as_files).__name__ == "FileDataset" and len(as_files.to_path()) == 4


def test_partition_by_names_what_is_wrong(ws):
    ds = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((ds, "music/*/*/*.csv"))
    with pytest.raises(DatasetError, match=r"\['nope'\] are not columns"):
        table.partition_by(["nope"], target=(ds, "x"))
    with pytest.raises(DatasetError, match="give partition_keys"):
        table.partition_by([], target=(ds, "x"))
    with pytest.raises(DatasetError, match="datastore object"):
        table.partition_by(["name"], target=("workspaceblobstore", "x"))


def test_partition_by_gives_keys_back_with_their_types_dates_included(ws, tmp_path):
    ds = ws.get_default_datastore()
    (tmp_path / "days.csv").write_text("day,store,qty\n2024-03-09,2,5\n2024-03-09,5,6\n2024-03-10,2,7\n")
    ds.upload_files([str(tmp_path / "days.csv")], target_path="days")
    table = Dataset.Tabular.from_delimited_files((ds, "days/days.csv"), set_column_types={"day": "datetime"})
    parted = table.partition_by(["day", "store"], target=ds)  # a datastore alone: its root
    folder = parted._definition["partition_format"].split("/")[0]  # the digest-named folder at the root
    assert sorted(f.lstrip("/") for f in Dataset.File.from_files((ds, f"{folder}/**")).to_path()) == [
        "20240309000000/2/part-00000.parquet", "20240309000000/5/part-00000.parquet",
        "20240310000000/2/part-00000.parquet"]
    frame = parted.to_pandas_dataframe().sort_values(["day", "store"])
    assert list(frame.columns) == ["qty", "day", "store"]
    assert frame["day"].tolist() == [datetime(2024, 3, 9), datetime(2024, 3, 9), datetime(2024, 3, 10)]
    assert frame["store"].tolist() == [2, 5, 2] and str(frame["store"].dtype) == "Int64"
    with pytest.raises(DatasetError, match="name a column twice"):
        table.partition_by(["day", "day"], target=ds)
