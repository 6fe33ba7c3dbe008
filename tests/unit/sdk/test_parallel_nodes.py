"""Pure parts of ParallelRunStep's remote nodes: file mini-batches as bytes, the source zip, addresses."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from headrace.core.parallel_run import DRIVER_SCRIPT
from headrace.sdk.parallel.nodes import host_of, zip_source
from headrace.sdk.parallel.worker import ShippedFiles


def test_shipped_files_keep_base_names_and_sub_folders(tmp_path: Path):
    (tmp_path / "in" / "b").mkdir(parents=True)
    (tmp_path / "in" / "a.txt").write_bytes(b"A")
    (tmp_path / "in" / "b" / "c.bin").write_bytes(b"\x00C")
    shipped = ShippedFiles.read([str(tmp_path / "in" / "a.txt"), str(tmp_path / "in" / "b" / "c.bin")])
    assert [rel for rel, _ in shipped.files] == ["a.txt", "b/c.bin"]
    paths = shipped.write(str(tmp_path / "node"))
    assert [Path(p).read_bytes() for p in paths] == [b"A", b"\x00C"]
    assert [Path(p).name for p in paths] == ["a.txt", "c.bin"]
    [one] = ShippedFiles.read([str(tmp_path / "in" / "a.txt")]).files
    assert one == ("a.txt", b"A")


def test_the_source_zip_is_the_folder_of_the_driver_with_the_entry_script_inside(tmp_path: Path):
    (tmp_path / "src" / "scoring" / "__pycache__").mkdir(parents=True)
    (tmp_path / "src" / DRIVER_SCRIPT).write_text("driver")
    (tmp_path / "src" / "scoring" / "score.py").write_text("def run(b): return b")
    (tmp_path / "src" / "scoring" / "__pycache__" / "score.pyc").write_bytes(b"x")
    data, entry = zip_source(str(tmp_path / "src" / "scoring" / "score.py"))
    assert entry == "scoring/score.py"
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == [DRIVER_SCRIPT, "scoring/score.py"]


def test_host_of_a_dask_address():
    assert host_of("tcp://10.0.0.5:40001") == "10.0.0.5"
    assert host_of("tcp://[::1]:40001") == "::1"
    assert host_of("127.0.0.1") == "127.0.0.1"
