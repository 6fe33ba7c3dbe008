"""Symbolic links in a local datastore: every access resolves them and refuses what leaves the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.errors import PathEscapeError


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    (folder / "secret.txt").write_text("top secret")
    (folder / "sub" / "deep.txt").write_text("deep secret")
    return folder


@pytest.fixture
def ds(tmp_path: Path, outside: Path) -> FsspecDatastore:
    store = FsspecDatastore.local("ds", tmp_path / "ds")
    store.write_bytes("raw/a.csv", b"1")
    root = tmp_path / "ds"
    os.symlink(outside, root / "out")
    os.symlink(outside / "secret.txt", root / "raw" / "secret.txt")
    os.symlink(tmp_path / "nowhere", root / "dangling")
    os.symlink("..", root / "raw" / "up")  # the root itself: fine
    os.symlink("../..", root / "raw" / "upup")  # above the root
    os.symlink("a.csv", root / "raw" / "alias.csv")  # inside: fine
    os.symlink("loop", root / "loop")
    return store


ESCAPES = ["out", "out/secret.txt", "out/sub/deep.txt", "raw/secret.txt", "dangling", "dangling/x",
           "raw/upup", "raw/upup/outside/secret.txt", "raw/up/out/secret.txt"]


@pytest.mark.parametrize("path", ESCAPES)
def test_every_operation_refuses_a_path_through_an_outward_link(ds, outside, tmp_path, path):
    calls = {
        "uri": lambda: ds.uri(path), "local_path": lambda: ds.local_path(path),
        "exists": lambda: ds.exists(path), "is_dir": lambda: ds.is_dir(path),
        "list": lambda: ds.list(path), "versions": lambda: ds.versions(path),
        "read_bytes": lambda: ds.read_bytes(path), "write_bytes": lambda: ds.write_bytes(path, b"x"),
        "delete": lambda: ds.delete(path),
        "download": lambda: ds.download(path, str(tmp_path / "got")),
        "upload": lambda: ds.upload(str(outside / "secret.txt"), path, overwrite=True),
    }
    for name, call in calls.items():
        with pytest.raises(PathEscapeError) as info:
            call()
        message = str(info.value)
        assert repr(path.rstrip("/")) in message and str(tmp_path) not in message, (name, message)
    assert (outside / "secret.txt").read_text() == "top secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt", "sub"]
    assert not (tmp_path / "got").exists() and not (tmp_path / "nowhere").exists()


def test_uploading_a_folder_refuses_targets_under_an_outward_link(ds, outside, tmp_path):
    src = tmp_path / "src"
    (src / "out").mkdir(parents=True)
    (src / "out" / "planted.txt").write_text("x")
    with pytest.raises(PathEscapeError, match="'out/planted.txt'"):
        ds.upload(str(src), "", overwrite=True)
    assert not (outside / "planted.txt").exists()


def test_links_inside_the_root_work_and_listings_skip_the_others(ds):
    assert ds.read_bytes("raw/alias.csv") == b"1"
    assert ds.read_bytes("raw/up/raw/a.csv") == b"1"
    assert [f.path for f in ds.list()] == ["raw/a.csv", "raw/alias.csv"]
    assert sorted(ds.versions("raw")) == ["raw/a.csv", "raw/alias.csv"]
    assert [f.path for f in ds.list("raw", recursive=False)] == ["raw/a.csv", "raw/alias.csv"]


def test_a_root_reached_through_a_link_is_its_own_real_folder(tmp_path):
    real = tmp_path / "real"
    (real / "d").mkdir(parents=True)
    (real / "d" / "f.txt").write_text("x")
    os.symlink(real, tmp_path / "alias")
    ds = FsspecDatastore("ds", (tmp_path / "alias").as_uri())
    assert ds.read_bytes("d/f.txt") == b"x"
    assert [f.path for f in ds.list()] == ["d/f.txt"]


def test_a_root_link_pointed_elsewhere_while_in_use_is_followed(tmp_path):
    for name in ("blue", "green"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text(name)
    os.symlink(tmp_path / "blue", tmp_path / "current")
    ds = FsspecDatastore("ds", (tmp_path / "current").as_uri())
    assert ds.read_bytes("f.txt") == b"blue"
    os.unlink(tmp_path / "current")
    os.symlink(tmp_path / "green", tmp_path / "current")
    assert ds.read_bytes("f.txt") == b"green" and [f.path for f in ds.list()] == ["f.txt"]


def test_the_link_scan_finds_a_link_at_any_depth_and_stops_at_the_first_missing_folder(tmp_path: Path) -> None:
    from headrace.datastores.paths import has_link_below

    (tmp_path / "a" / "b").mkdir(parents=True)
    os.symlink(tmp_path, tmp_path / "a" / "b" / "link")
    root = str(tmp_path)
    assert not has_link_below(root, "a/b")
    assert not has_link_below(root, "a/missing/link/x")
    assert has_link_below(root, "a/b/link")
    assert has_link_below(root, "a/b/link/a/b")
    (tmp_path / "file").write_text("x")
    assert not has_link_below(root, "file/below")  # a file where a folder is expected: no link
