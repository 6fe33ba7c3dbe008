from __future__ import annotations

import pytest

from headrace.core import DataPath, DataPathComputeBinding, PipelineData, PipelineParameter, coerce_value
from headrace.errors import DefinitionError


@pytest.mark.parametrize(
    ("default", "expected"),
    [(True, "bool"), (False, "bool"), (0, "int"), (10, "int"), (1.5, "float"), ("x", "str"), ("", "str")],
)
def test_parameter_type_detects_bool_before_int(default, expected):
    param = PipelineParameter(name="p", default_value=default)
    assert param.type == expected
    assert param.default_value is default
    assert param.name == "p"


def test_parameter_with_datapath_default(ds):
    path = DataPath(ds, "raw/data.csv")
    param = PipelineParameter("input_data", path)
    assert param.type == "datapath"
    assert param.default_value is path


@pytest.mark.parametrize("name", ["1abc", "a-b", "", "a b", None, 5])
def test_parameter_rejects_bad_names(name):
    with pytest.raises(DefinitionError) as info:
        PipelineParameter(name, 1)
    assert len(info.value.problems) == 1
    assert "letters, digits and underscores" in info.value.problems[0]


@pytest.mark.parametrize("default", [None, [1], {"a": 1}, b"x", float("nan"), float("inf")])
def test_parameter_rejects_bad_defaults(default):
    with pytest.raises(DefinitionError) as info:
        PipelineParameter("my_param", default)
    message = info.value.problems[0]
    assert "'my_param'" in message
    assert "use" in message


def test_datapath_from_object_or_name(ds):
    from_obj = DataPath(ds, "raw/x.csv")
    from_str = DataPath("workspaceblobstore", "raw/x.csv")
    assert from_obj.datastore_name == "workspaceblobstore"
    assert from_obj.path_on_datastore == "raw/x.csv"
    assert from_obj.name == from_str.name
    assert from_obj == from_str and hash(from_obj) == hash(from_str)
    assert from_obj.to_json() == {"datastore": "workspaceblobstore", "path": "raw/x.csv"}


def test_datapath_default_name_is_deterministic_per_location():
    a = DataPath("ds", "raw/x.csv")
    assert a.name.startswith("ds_") and len(a.name) == len("ds_") + 8
    int(a.name[3:], 16)
    assert DataPath("ds", "raw/x.csv").name == a.name
    assert DataPath("ds", "raw/y.csv").name != a.name
    assert DataPath("other", "raw/x.csv").name != a.name


def test_datapath_defaults_and_explicit_name():
    root = DataPath("ds")
    assert root.path_on_datastore == ""
    assert DataPath("ds", "p", name="mine").name == "mine"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "needs a datastore"),
        ((object(), "p"), "no usable name"),
        (("ds", 5), "must be a str"),
        (("ds", "p", ""), "name"),
    ],
)
def test_datapath_rejects_bad_arguments(args, fragment):
    with pytest.raises(DefinitionError) as info:
        DataPath(*args)
    assert fragment in info.value.problems[0]


def test_binding_modes():
    assert DataPathComputeBinding().mode == "mount"
    binding = DataPathComputeBinding(mode="download", path_on_compute="/tmp/x", overwrite=True)
    assert (binding.mode, binding.path_on_compute, binding.overwrite) == ("download", "/tmp/x", True)
    with pytest.raises(DefinitionError, match="use 'mount' or 'download'"):
        DataPathComputeBinding(mode="upload")


def test_pipeline_data(ds):
    data = PipelineData("prepared", datastore=ds)
    assert data.name == "prepared"
    assert data.datastore_name == "workspaceblobstore"
    assert data.output_name == "prepared"
    assert data.output_mode == "mount"
    assert PipelineData("x").datastore_name is None
    assert PipelineData("x", datastore="other", output_name="out").output_name == "out"


@pytest.mark.parametrize("kwargs", [{"name": "a-b"}, {"name": ""}, {"name": "ok", "output_mode": "download"}])
def test_pipeline_data_rejects_bad_arguments(kwargs):
    with pytest.raises(DefinitionError) as info:
        PipelineData(**kwargs)
    assert "use" in info.value.problems[0]


@pytest.mark.parametrize(
    ("type_name", "value", "expected"),
    [
        ("int", "20", 20),
        ("int", " -3 ", -3),
        ("int", 7, 7),
        ("int", 4.0, 4),
        ("float", "1.5", 1.5),
        ("float", 2, 2.0),
        ("bool", "true", True),
        ("bool", "FALSE", False),
        ("bool", "1", True),
        ("bool", "0", False),
        ("bool", True, True),
        ("bool", 0, False),
        ("str", "hello", "hello"),
        ("str", 5, "5"),
        ("datapath", "ds:raw/x.csv", {"datastore": "ds", "path": "raw/x.csv"}),
        ("datapath", {"datastore": "ds", "path": "p"}, {"datastore": "ds", "path": "p"}),
        ("datapath", {"DataStoreName": "ds", "RelativePath": "p"}, {"datastore": "ds", "path": "p"}),
        ("datapath", DataPath("ds", "p"), {"datastore": "ds", "path": "p"}),
    ],
)
def test_coerce_value(type_name, value, expected):
    result = coerce_value(type_name, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("type_name", "value", "fragment"),
    [
        ("int", "abc", "expected an integer"),
        ("int", True, "bool"),
        ("int", "1.5", "expected an integer"),
        ("int", 1.5, "expected an integer"),
        ("float", "x", "expected a number"),
        ("float", False, "bool"),
        ("bool", "yes", "true, false, 1 or 0"),
        ("bool", 2, "true, false, 1 or 0"),
        ("str", None, "expected a string"),
        ("datapath", "no-colon", "expected a data path"),
        ("datapath", {"path": "p"}, "expected a data path"),
        ("complex", "1", "unknown parameter type"),
    ],
)
def test_coerce_value_errors(type_name, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        coerce_value(type_name, value)
