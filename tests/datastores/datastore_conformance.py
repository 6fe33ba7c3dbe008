"""The contract every ``Datastore`` must meet; subclass and provide a ``ds`` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace.datastores.base import Datastore
from headrace.errors import DatastoreError, PathEscapeError

BAD_PATHS = ["../x", "/etc/passwd", "a/../../b", "..", "a\\..\\..\\b", "x\x00y", "C:/x", "s3://b/k"]


class DatastoreConformance:
    """Run against each implementation by subclassing with a ``ds`` fixture."""

    __test__ = False

    files_block_children = True
    """False for object stores, where ``f`` and ``f/g`` can both be files."""

    @pytest.fixture
    def ds(self) -> Datastore:
        raise NotImplementedError

    @pytest.fixture
    def tree(self, ds: Datastore) -> Datastore:
        for path, data in {"b.txt": b"bb", "a/2.txt": b"22", "a/1.txt": b"1", "a/sub/x.txt": b"xxx"}.items():
            ds.write_bytes(path, data)
        return ds

    # -- paths -----------------------------------------------------------------------------

    @pytest.mark.parametrize("bad", BAD_PATHS)
    def test_escaping_paths_are_rejected_everywhere(self, ds: Datastore, bad: str, tmp_path: Path) -> None:
        src = tmp_path / "src.txt"
        src.write_text("x")
        calls = [
            lambda: ds.read_bytes(bad),
            lambda: ds.write_bytes(bad, b"x"),
            lambda: ds.exists(bad),
            lambda: ds.is_dir(bad),
            lambda: ds.list(bad),
            lambda: ds.uri(bad),
            lambda: ds.local_path(bad),
            lambda: ds.delete(bad),
            lambda: ds.upload(str(src), bad),
            lambda: ds.download(bad, str(tmp_path / "out")),
        ]
        for call in calls:
            with pytest.raises(PathEscapeError) as info:
                call()
            assert repr(bad) in str(info.value) and repr(ds.name) in str(info.value)
            assert isinstance(info.value, DatastoreError)

    def test_inner_dotdot_and_dots_are_normalised(self, ds: Datastore) -> None:
        ds.write_bytes("a/./b/../c.txt", b"c")
        assert [f.path for f in ds.list()] == ["a/c.txt"]
        assert ds.read_bytes("a//c.txt") == b"c"
        assert ds.uri("a/b/../c.txt") == ds.uri("a/c.txt") == f"{ds.root_uri}/a/c.txt"
        assert ds.uri() == ds.uri("") == ds.root_uri

    # -- single files ----------------------------------------------------------------------

    def test_write_read_replace(self, ds: Datastore) -> None:
        ds.write_bytes("deep/er/f.bin", b"one")
        ds.write_bytes("deep/er/f.bin", b"two!")
        assert ds.read_bytes("deep/er/f.bin") == b"two!"

    def test_read_missing_is_datastore_error_with_uri(self, ds: Datastore) -> None:
        with pytest.raises(DatastoreError) as info:
            ds.read_bytes("missing.txt")
        assert info.value.uri == ds.uri("missing.txt")
        assert ds.name in str(info.value)

    def test_read_folder_is_datastore_error(self, tree: Datastore) -> None:
        with pytest.raises(DatastoreError) as info:
            tree.read_bytes("a")
        assert info.value.uri == tree.uri("a")

    def test_write_under_a_file_is_datastore_error(self, ds: Datastore) -> None:
        ds.write_bytes("f", b"1")
        if not self.files_block_children:  # object stores: keys, so a file and a folder may share a name
            ds.write_bytes("f/g", b"2")
            assert ds.read_bytes("f") == b"1" and ds.read_bytes("f/g") == b"2"
            return
        with pytest.raises(DatastoreError) as info:
            ds.write_bytes("f/g", b"2")
        assert info.value.uri == ds.uri("f/g")

    def test_write_at_root_is_refused(self, ds: Datastore) -> None:
        with pytest.raises(DatastoreError):
            ds.write_bytes("", b"x")

    def test_exists_and_is_dir(self, tree: Datastore) -> None:
        assert tree.exists("a") and tree.is_dir("a")
        assert tree.exists("a/1.txt") and not tree.is_dir("a/1.txt")
        assert not tree.exists("nope") and not tree.is_dir("nope")

    def test_delete_file_folder_and_missing(self, tree: Datastore) -> None:
        tree.delete("b.txt")
        tree.delete("a/sub")
        tree.delete("never/there")
        assert [f.path for f in tree.list()] == ["a/1.txt", "a/2.txt"]

    # -- listing ---------------------------------------------------------------------------

    def test_list_is_recursive_sorted_files_only(self, tree: Datastore) -> None:
        infos = tree.list()
        assert [f.path for f in infos] == ["a/1.txt", "a/2.txt", "a/sub/x.txt", "b.txt"]
        assert [f.size for f in infos] == [1, 2, 3, 2]
        for info in infos:
            assert info.modified is not None and info.modified.utcoffset().total_seconds() == 0
            assert info.version
            assert info.etag is None or '"' not in info.etag

    def test_list_not_recursive_gives_direct_files(self, tree: Datastore) -> None:
        assert [f.path for f in tree.list("a", recursive=False)] == ["a/1.txt", "a/2.txt"]
        assert [f.path for f in tree.list("", recursive=False)] == ["b.txt"]

    def test_list_prefix_is_a_folder_not_a_string_prefix(self, tree: Datastore) -> None:
        tree.write_bytes("ab/z.txt", b"z")
        assert [f.path for f in tree.list("a")] == ["a/1.txt", "a/2.txt", "a/sub/x.txt"]

    def test_list_of_a_file_and_of_nothing(self, tree: Datastore) -> None:
        assert [(f.path, f.size) for f in tree.list("a/sub/x.txt")] == [("a/sub/x.txt", 3)]
        assert tree.list("missing") == []
        assert tree.list("a/missing", recursive=False) == []

    def test_version_is_stable_then_changes_on_same_size_rewrite(self, ds: Datastore) -> None:
        ds.write_bytes("f.txt", b"aaaa")
        before = ds.list("f.txt")[0].version
        assert ds.list("f.txt")[0].version == before
        for data in (b"bbbb", b"aaaa", b"cccc"):
            ds.write_bytes("f.txt", data)
            after = ds.list("f.txt")[0].version
            assert after != before
            before = after

    # -- upload / download -----------------------------------------------------------------

    @pytest.fixture
    def local_tree(self, tmp_path: Path) -> Path:
        src = tmp_path / "local_tree"
        (src / "sub").mkdir(parents=True)
        (src / "one.txt").write_bytes(b"1")
        (src / "sub" / "two.txt").write_bytes(b"22")
        return src

    def test_upload_and_download_a_file(self, ds: Datastore, local_tree: Path, tmp_path: Path) -> None:
        assert ds.upload(str(local_tree / "sub" / "two.txt"), "in/two.txt") == 2
        assert ds.read_bytes("in/two.txt") == b"22"
        out = tmp_path / "out" / "copy.txt"
        assert ds.download("in/two.txt", str(out)) == 2
        assert out.read_bytes() == b"22"

    def test_upload_and_download_a_folder(self, ds: Datastore, local_tree: Path, tmp_path: Path) -> None:
        assert ds.upload(str(local_tree), "in") == 3
        assert [f.path for f in ds.list("in")] == ["in/one.txt", "in/sub/two.txt"]
        out = tmp_path / "out"
        assert ds.download("in", str(out)) == 3
        assert (out / "one.txt").read_bytes() == b"1" and (out / "sub" / "two.txt").read_bytes() == b"22"

    def test_upload_refuses_to_overwrite_unless_asked(self, ds: Datastore, local_tree: Path) -> None:
        ds.upload(str(local_tree / "one.txt"), "f.txt")
        with pytest.raises(DatastoreError) as info:
            ds.upload(str(local_tree / "sub" / "two.txt"), "f.txt")
        assert info.value.uri == ds.uri("f.txt") and "overwrite" in str(info.value)
        assert ds.upload(str(local_tree / "sub" / "two.txt"), "f.txt", overwrite=True) == 2
        assert ds.read_bytes("f.txt") == b"22"

    def test_folder_upload_conflict_writes_nothing(self, ds: Datastore, local_tree: Path) -> None:
        ds.write_bytes("in/sub/two.txt", b"old")
        with pytest.raises(DatastoreError) as info:
            ds.upload(str(local_tree), "in")
        assert info.value.uri == ds.uri("in/sub/two.txt")
        assert [f.path for f in ds.list()] == ["in/sub/two.txt"]
        ds.upload(str(local_tree), "in", overwrite=True)
        assert ds.read_bytes("in/sub/two.txt") == b"22"

    def test_upload_missing_source_is_datastore_error(self, ds: Datastore, tmp_path: Path) -> None:
        with pytest.raises(DatastoreError) as info:
            ds.upload(str(tmp_path / "nothing"), "x")
        assert info.value.uri == (tmp_path / "nothing").as_uri()

    def test_download_missing_is_datastore_error(self, ds: Datastore, tmp_path: Path) -> None:
        with pytest.raises(DatastoreError) as info:
            ds.download("nothing", str(tmp_path / "out"))
        assert info.value.uri == ds.uri("nothing")

    def test_download_without_overwrite_keeps_local_files(self, tree: Datastore, tmp_path: Path) -> None:
        out = tmp_path / "out"
        out.mkdir()
        (out / "1.txt").write_bytes(b"mine")
        with pytest.raises(DatastoreError):
            tree.download("a", str(out), overwrite=False)
        assert (out / "1.txt").read_bytes() == b"mine"
        assert tree.download("a", str(out)) == 6
        assert (out / "1.txt").read_bytes() == b"1"
