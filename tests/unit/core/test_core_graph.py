from __future__ import annotations

import json

import pytest

from headrace.core import (
    DataPath,
    DataPathComputeBinding,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
    find_cycles,
    resolve_closure,
    topological_sort,
)
from headrace.errors import CycleError, DefinitionError


def step(name, inputs=(), outputs=(), **kw):
    return PythonScriptStep("prep.py", name, source_directory="scripts", inputs=list(inputs), outputs=list(outputs), **kw)


def test_closure_pulls_in_upstream_producers(scripts):
    a, b = PipelineData("a"), PipelineData("b")
    first = step("first", outputs=[a])
    second = step("second", inputs=[a], outputs=[b])
    third = step("third", inputs=[b])
    unrelated = step("unrelated")
    assert resolve_closure([third]) == [third, first, second]  # pulled-in steps in definition order
    assert [s.name for s in Pipeline(None, [third]).steps] == ["first", "second", "third"]
    assert unrelated not in Pipeline(None, [third]).steps


def test_closure_prefers_a_listed_producer(scripts):
    data = PipelineData("d")
    old = step("make", outputs=[data])
    new = step("make", outputs=[data])  # e.g. a notebook cell run twice
    consumer = step("use", inputs=[data])
    assert resolve_closure([new, consumer]) == [new, consumer]
    assert old in resolve_closure([consumer])


def test_no_closure_keeps_only_given_steps(scripts):
    data = PipelineData("d")
    step("make", outputs=[data])
    consumer = step("use", inputs=[data])
    assert Pipeline(None, [consumer], resolve_closure=False).steps == [consumer]


def test_topological_order_is_stable(scripts):
    data = PipelineData("d")
    late_consumer = step("consumer", inputs=[data])
    independent = step("independent")
    producer = step("producer", outputs=[data])
    pipeline = Pipeline(None, [late_consumer, independent, producer])
    assert [s.name for s in pipeline.steps] == ["independent", "producer", "consumer"]


def test_topological_sort_generic():
    deps = {"c": ["a"], "b": [], "a": []}
    assert topological_sort(["c", "b", "a"], deps) == ["b", "a", "c"]
    assert topological_sort(["x"], {}) == ["x"]


def test_topological_sort_raises_cycle_error():
    with pytest.raises(CycleError) as info:
        topological_sort(["a", "b", "c"], {"a": ["b"], "b": ["a"], "c": ["a"]})
    assert "'a' -> 'b' -> 'a'" in info.value.problems[0] or "'b' -> 'a' -> 'b'" in info.value.problems[0]


def test_find_cycles_in_data_flow_order():
    # a feeds b feeds c feeds a; deps maps a node to what it depends on.
    deps = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d"], "e": ["a"]}
    assert find_cycles(["a", "b", "c", "d", "e"], deps) == [["a", "b", "c", "a"], ["d", "d"]]
    assert find_cycles(["a", "b"], {"b": ["a"]}) == []


def test_cyclic_pipeline_steps_fall_back_to_definition_order(scripts):
    a, b = PipelineData("a"), PipelineData("b")
    one = step("one", inputs=[b], outputs=[a])
    two = step("two", inputs=[a], outputs=[b])
    pipeline = Pipeline(None, [two, one])
    assert pipeline.steps == [two, one]
    with pytest.raises(CycleError) as info:
        pipeline.graph()
    assert any("'two' -> 'one' -> 'two'" in p for p in info.value.problems)


def test_graph_raises_definition_error_when_invalid(scripts):
    with pytest.raises(DefinitionError) as info:
        Pipeline(None, [PythonScriptStep("missing.py", "s", source_directory="scripts")]).graph()
    assert not isinstance(info.value, CycleError)
    assert "missing.py" in info.value.problems[0]


def test_contract_example_graph(scripts, ds):
    n = PipelineParameter(name="pipeline_arg", default_value=10)
    raw = PipelineParameter(name="input_data", default_value=DataPath(ds, "raw/data.csv"))
    prepared = PipelineData("prepared", datastore=ds)
    PythonScriptStep(
        name="prep",
        script_name="prep.py",
        source_directory="scripts",
        arguments=["--input", raw, "--n", n, "--out", prepared, 5],
        inputs=[raw],
        outputs=[prepared],
        allow_reuse=True,
    )
    train = PythonScriptStep(
        name="train",
        script_name="train.py",
        source_directory="scripts",
        arguments=["--data", prepared],
        inputs=[prepared],
    )
    pipeline = Pipeline(workspace=object(), steps=[train])
    assert pipeline.validate() == []
    graph = pipeline.graph()
    assert json.loads(json.dumps(graph)) == graph
    common = {
        "allow_reuse": True,
        "compute_target": "local",
        "environment_variables": {},
        "timeout_seconds": None,
    }
    assert graph == {
        "format": 1,
        "description": None,
        "parameters": {
            "pipeline_arg": {"type": "int", "default": 10},
            "input_data": {
                "type": "datapath",
                "default": {"datastore": "workspaceblobstore", "path": "raw/data.csv"},
            },
        },
        "data": {
            "prepared": {"kind": "pipeline_data", "datastore": "workspaceblobstore", "producer": "prep"},
            "input_data": {"kind": "parameter", "parameter": "input_data", "mode": "mount"},
        },
        "steps": [
            {
                "name": "prep",
                "kind": "python_script",
                "script_name": "prep.py",
                "source_directory": str(scripts),
                "arguments": [
                    {"literal": "--input"},
                    {"data": "input_data"},
                    {"literal": "--n"},
                    {"param": "pipeline_arg"},
                    {"literal": "--out"},
                    {"data": "prepared"},
                    {"literal": 5},
                ],
                "inputs": ["input_data"],
                "outputs": ["prepared"],
                "parameters": ["pipeline_arg", "input_data"],
                **common,
                "depends_on": [],
            },
            {
                "name": "train",
                "kind": "python_script",
                "script_name": "train.py",
                "source_directory": str(scripts),
                "arguments": [{"literal": "--data"}, {"data": "prepared"}],
                "inputs": ["prepared"],
                "outputs": [],
                "parameters": [],
                **common,
                "depends_on": ["prep"],
            },
        ],
    }
    assert type(graph["steps"][0]["arguments"][-1]["literal"]) is int


def test_graph_literal_types_bindings_and_defaults(scripts):
    flag = PipelineParameter("flag", True)
    rate = PipelineParameter("rate", 0.5)
    raw = PipelineParameter("raw", DataPath("ds", "in"))
    literal = DataPath("other", "raw/x.csv")
    out = PipelineData("out")
    make = PythonScriptStep(
        "prep.py",
        "make",
        arguments=[True, 1.25, flag, rate, (raw, DataPathComputeBinding(mode="download")), literal, out],
        inputs=[(raw, DataPathComputeBinding(mode="download")), literal],
        outputs=[out],
        environment_variables={"A": "1"},
        timeout_seconds=60,
        allow_reuse=False,
    )
    pipeline = Pipeline(
        None, [make], description="d", default_datastore="store2", default_source_directory="scripts"
    )
    graph = pipeline.graph()
    assert graph["description"] == "d"
    assert graph["parameters"] == {
        "flag": {"type": "bool", "default": True},
        "rate": {"type": "float", "default": 0.5},
        "raw": {"type": "datapath", "default": {"datastore": "ds", "path": "in"}},
    }
    assert graph["data"] == {
        "raw": {"kind": "parameter", "parameter": "raw", "mode": "download"},
        literal.name: {"kind": "datapath", "datastore": "other", "path": "raw/x.csv", "mode": "mount"},
        "out": {"kind": "pipeline_data", "datastore": "store2", "producer": "make"},
    }
    (only,) = graph["steps"]
    assert only["source_directory"] == str(scripts)
    assert only["arguments"] == [
        {"literal": True},
        {"literal": 1.25},
        {"param": "flag"},
        {"param": "rate"},
        {"data": "raw"},
        {"data": literal.name},
        {"data": "out"},
    ]
    assert only["inputs"] == ["raw", literal.name]
    assert only["parameters"] == ["flag", "rate", "raw"]
    assert (only["allow_reuse"], only["environment_variables"], only["timeout_seconds"]) == (
        False,
        {"A": "1"},
        60,
    )


def test_pipeline_data_without_datastore_is_null(scripts):
    out = PipelineData("out")
    graph = Pipeline(None, [step("make", outputs=[out])]).graph()
    assert graph["data"]["out"]["datastore"] is None


def test_depends_on_lists_each_producer_once(scripts):
    a, b = PipelineData("a"), PipelineData("b")
    make = step("make", outputs=[a, b])
    use = step("use", inputs=[a, b])
    assert Pipeline(None, [use, make]).graph()["steps"][1]["depends_on"] == ["make"]


def test_publish_and_submit_delegate_to_workspace(scripts):
    calls = []

    class Workspace:
        def _publish_pipeline(self, pipeline, **kw):
            calls.append(("publish", pipeline, kw))
            return "published"

        def _submit_pipeline(self, pipeline, experiment_name, **kw):
            calls.append(("submit", pipeline, experiment_name, kw))
            return "run"

    pipeline = Pipeline(Workspace(), [step("s")])
    assert pipeline.publish(name="p", version="1") == "published"
    assert pipeline.submit("exp", pipeline_parameters={"x": 1}) == "run"
    assert calls == [
        ("publish", pipeline, {"name": "p", "version": "1"}),
        ("submit", pipeline, "exp", {"pipeline_parameters": {"x": 1}}),
    ]


def test_pipeline_constructor_rejects_non_lists_and_unnamed_datastores(scripts, ds):
    with pytest.raises(DefinitionError, match="must be a list of steps"):
        Pipeline(None, step("s"))
    with pytest.raises(DefinitionError, match="no usable name"):
        Pipeline(None, [step("s")], default_datastore=object())
    pipeline = Pipeline(None, [step("s")], default_datastore=ds)
    assert pipeline.default_datastore_name == "workspaceblobstore"


def test_public_names_are_sorted():
    import headrace.core

    assert headrace.core.__all__ == sorted(headrace.core.__all__)
    assert all(hasattr(headrace.core, name) for name in headrace.core.__all__)
