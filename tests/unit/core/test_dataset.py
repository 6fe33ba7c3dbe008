"""Dataset definitions: globs, bases, sources, transforms and manifests (pure)."""

from __future__ import annotations

import pytest

from headrace.core.dataset import (
    ManifestEntry,
    apply_file_transforms,
    base_of,
    decode_manifest,
    encode_manifest,
    glob_base,
    glob_regex,
    relative_path,
    source_list,
)
from headrace.errors import DefinitionError


@pytest.mark.parametrize(("pattern", "yes", "no"), [
    ("raw/*.csv", ["raw/a.csv"], ["raw/sub/a.csv", "raw/a.txt", "rawx/a.csv"]),
    ("raw/**/*.csv", ["raw/a.csv", "raw/x/y/a.csv"], ["raw/a.txt", "other/a.csv"]),
    ("raw/**", ["raw/a", "raw/x/y"], ["other/a"]),
    ("raw/year-?/[ab].txt", ["raw/year-1/a.txt"], ["raw/year-10/a.txt", "raw/year-1/c.txt"]),
    ("raw/[!a].txt", ["raw/b.txt"], ["raw/a.txt"]),
    ("a+b/(1).csv", ["a+b/(1).csv"], ["aab/1.csv"]),
])
def test_globs_match_as_documented(pattern, yes, no):
    rx = glob_regex(pattern)
    assert all(rx.match(p) for p in yes) and not any(rx.match(p) for p in no)


def test_the_base_is_what_comes_before_the_first_wildcard():
    assert glob_base("raw/2024/*/x.csv") == "raw/2024"
    assert glob_base("*.csv") == ""
    assert base_of([{"datastore": "d", "path": "raw/a/*.csv"}, {"datastore": "d", "path": "raw/b/x.csv"}]) == "raw"
    assert base_of([{"datastore": "d", "path": "raw/one.csv"}]) == "raw/one.csv"
    assert relative_path("raw/one.csv", "raw/one.csv", single_file=True) == "one.csv"
    assert relative_path("raw/a/1.csv", "raw", single_file=False) == "a/1.csv"


def test_sources_take_every_azure_ml_shape_and_refuse_others():
    class Store:
        name = "lake"

    class Path:
        datastore_name, path_on_datastore = "lake", "/raw/x.csv"

    assert source_list([(Store(), "raw/*.csv"), Path(), "https://h/f.csv"], lambda s: s.name) == [
        {"datastore": "lake", "path": "raw/*.csv"}, {"datastore": "lake", "path": "raw/x.csv"},
        {"url": "https://h/f.csv"}]
    for bad in (42, "relative/path.csv", []):
        with pytest.raises(DefinitionError):
            source_list(bad, lambda s: s.name)


def test_file_transforms_and_splits_are_reproducible():
    files = [ManifestEntry("d", f"f{i}", 1, "v") for i in range(100)]
    assert apply_file_transforms(files, [{"op": "skip", "count": 10}, {"op": "take", "count": 5}]) == files[10:15]
    left = apply_file_transforms(files, [{"op": "split", "percentage": 0.3, "seed": 7, "side": 0}])
    right = apply_file_transforms(files, [{"op": "split", "percentage": 0.3, "seed": 7, "side": 1}])
    assert sorted(left + right, key=files.index) == files and not set(left) & set(right)
    assert 15 < len(left) < 45
    assert left == apply_file_transforms(files, [{"op": "split", "percentage": 0.3, "seed": 7, "side": 0}])


def test_manifests_round_trip_compactly_and_deterministically():
    files = [ManifestEntry("b", "x/1.csv", 10, '"etag1"'), ManifestEntry("a", "y.csv", 3, "123-3")]
    data = encode_manifest(files)
    assert data == encode_manifest(files)
    assert decode_manifest(data) == [files[1], files[0]]
    many = [ManifestEntry("ds", f"folder/sub/file-{i:06d}.csv", 65536, f"{i}-65536") for i in range(10_000)]
    assert len(encode_manifest(many)) < 10_000 * 12  # well under the ~60 bytes per file of plain JSON
