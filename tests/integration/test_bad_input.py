"""Rejected submissions: every error names what is wrong and how to fix it, and nothing is stored."""

from __future__ import annotations

import pytest

from headrace import (
    DataPath,
    Datastore,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
)
from headrace.errors import ConfigError, DefinitionError, HeadraceError, NotFoundError, ParameterError


@pytest.fixture
def params_pipeline(workspace, ctl_step):
    ds = workspace.get_default_datastore()
    n = PipelineParameter(name="pipeline_arg", default_value=10)
    rate = PipelineParameter(name="rate", default_value=0.5)
    flag = PipelineParameter(name="use_flag", default_value=False)
    name = PipelineParameter(name="label", default_value="x")
    data = PipelineParameter(name="input_data", default_value=DataPath(ds, "raw/data.csv"))
    steps = [ctl_step("a", value=n), ctl_step("b", value=rate), ctl_step("c", value=flag),
             ctl_step("d", value=name), ctl_step("e", input=data)]
    return Pipeline(workspace=workspace, steps=steps)


@pytest.fixture
def nothing_stored(workspace):
    """Call it after a rejected submit: asserts the store holds no run, and no experiment but the "Bad" one the
    test named (``Experiment(ws, name)`` creates its experiment, as in Azure ML; the refusal adds nothing)."""

    def check() -> None:
        assert workspace._backend.list_runs() == []
        assert [e.name for e in Experiment.list(workspace)] in ([], ["Bad"])

    return check


def _rejects(ws, pipeline, error, **options):
    with pytest.raises(error) as caught:
        Experiment(ws, "Bad").submit(pipeline, **options)
    return caught.value


def test_unknown_parameter_lists_the_valid_ones(workspace, params_pipeline, nothing_stored):
    err = _rejects(workspace, params_pipeline, ParameterError, pipeline_parameters={"pipeline_ar": 3})
    assert err.parameter == "pipeline_ar"
    message = str(err)
    assert "'pipeline_ar'" in message
    assert "input_data, label, pipeline_arg, rate, use_flag" in message
    nothing_stored()


@pytest.mark.parametrize(
    ("name", "value", "declared"),
    [
        ("pipeline_arg", "ten", "int"),
        ("pipeline_arg", 2.5, "int"),
        ("pipeline_arg", True, "int"),  # bool is not int
        ("rate", False, "float"),
        ("rate", "fast", "float"),
        ("use_flag", "maybe", "bool"),
        ("use_flag", 5, "bool"),
        ("label", [1, 2], "str"),
        ("input_data", 42, "datapath"),
    ],
)
def test_wrong_type_names_the_declared_type(workspace, params_pipeline, nothing_stored, name, value, declared):
    err = _rejects(workspace, params_pipeline, ParameterError, pipeline_parameters={name: value})
    assert err.parameter == name
    assert f"parameter {name!r}" in str(err)
    assert f"declared type {declared}" in str(err)
    assert repr(value) in str(err)
    nothing_stored()


def test_invalid_pipeline_lists_every_problem(workspace, write_scripts, nothing_stored):
    folder = write_scripts({"ok.py": "print('ok')\n"})
    orphan = PipelineData("orphan")  # read, never written
    steps = [
        PythonScriptStep(name="dup", script_name="ok.py", source_directory=folder),
        PythonScriptStep(name="dup", script_name="ok.py", source_directory=folder),
        PythonScriptStep(name="no_script", script_name="missing.py", source_directory=folder),
        PythonScriptStep(name="bad_arg", script_name="ok.py", source_directory=folder, arguments=[object()]),
        PythonScriptStep(name="reader", script_name="ok.py", source_directory=folder, inputs=[orphan]),
    ]
    pipeline = Pipeline(workspace=workspace, steps=steps)
    problems = pipeline.validate()
    assert len(problems) >= 4
    err = _rejects(workspace, pipeline, DefinitionError)
    assert err.problems == problems
    text = str(err)
    for fragment in ("'dup'", "missing.py", "'bad_arg'", "orphan"):
        assert fragment in text
    nothing_stored()


def test_cycle_is_rejected(workspace, write_scripts, nothing_stored):
    from headrace.errors import CycleError

    folder = write_scripts({"ok.py": "print('ok')\n"})
    x, y = PipelineData("x"), PipelineData("y")
    one = PythonScriptStep(name="one", script_name="ok.py", source_directory=folder, inputs=[y], outputs=[x])
    two = PythonScriptStep(name="two", script_name="ok.py", source_directory=folder, inputs=[x], outputs=[y])
    err = _rejects(workspace, Pipeline(workspace=workspace, steps=[one, two]), CycleError)
    assert "'one'" in str(err) and "'two'" in str(err)
    nothing_stored()


def test_unknown_datastore(workspace, ctl_step, nothing_stored):
    with pytest.raises(NotFoundError, match="datastore 'nostore' not found; registered datastores: workspaceblobstore"):
        Datastore(workspace, "nostore")

    out = PipelineData("out", datastore="nostore")
    err = _rejects(workspace, Pipeline(workspace=workspace, steps=[ctl_step("w", out=out)]), DefinitionError)
    assert "'nostore'" in str(err) and "register" in str(err)

    data = PipelineParameter(name="data", default_value=DataPath("nostore", "raw/x.csv"))
    err = _rejects(workspace, Pipeline(workspace=workspace, steps=[ctl_step("r", input=data)]), DefinitionError)
    assert "'nostore'" in str(err) and "'data'" in str(err)
    nothing_stored()


def test_unknown_datastore_in_a_submitted_data_path(workspace, params_pipeline, nothing_stored):
    err = _rejects(workspace, params_pipeline, ParameterError,
                   pipeline_parameters={"input_data": {"DataStoreName": "nostore", "RelativePath": "x.csv"}})
    assert err.parameter == "input_data"
    assert "'nostore'" in str(err) and "workspaceblobstore" in str(err)
    nothing_stored()


@pytest.mark.parametrize("path", ["../outside.csv", "raw/../../outside.csv", "/etc/passwd"])
def test_data_path_escaping_the_datastore_is_rejected(workspace, params_pipeline, ctl_step, nothing_stored, path):
    ds = workspace.get_default_datastore()
    err = _rejects(workspace, params_pipeline, HeadraceError,
                   pipeline_parameters={"input_data": DataPath(ds, path)})
    assert isinstance(err, ParameterError | DefinitionError)
    assert "input_data" in str(err)

    default = PipelineParameter(name="data", default_value=DataPath(ds, path))
    err = _rejects(workspace, Pipeline(workspace=workspace, steps=[ctl_step("p", input=default)]), HeadraceError)
    assert isinstance(err, ParameterError | DefinitionError)
    assert "'data'" in str(err)

    literal = DataPath(ds, path, name="literal")
    err = _rejects(workspace, Pipeline(workspace=workspace, steps=[ctl_step("l", input=literal)]), DefinitionError)
    assert "literal" in str(err)
    nothing_stored()


def test_bad_experiment_name_and_options(workspace, ctl_step, nothing_stored):
    pipeline = Pipeline(workspace=workspace, steps=[ctl_step("a")])
    with pytest.raises(ConfigError, match="invalid experiment name"):
        Experiment(workspace, "  ").submit(pipeline)
    with pytest.raises(ConfigError, match="continue_on_failure"):
        Experiment(workspace, "Bad").submit(pipeline, continue_on_failure=True)
    with pytest.raises(ConfigError, match="pass a Pipeline"):
        Experiment(workspace, "Bad").submit(ctl_step("b"))
    nothing_stored()
