"""Per-step Dask resources: runconfig and step layers, validation naming the step, the frozen graph, reuse key."""

from __future__ import annotations

import pytest

from headrace.core import Pipeline, PythonScriptStep
from headrace.core.resources import describe, fits, merged, resource_problems
from headrace.core.runconfig import RunConfiguration
from headrace.errors import DefinitionError


def step(name, **kw):
    return PythonScriptStep("prep.py", name, source_directory="scripts", **kw)


def test_the_step_wins_per_key_over_its_runconfig_and_the_graph_carries_them(scripts):
    rc = RunConfiguration(resources={"GPU": 1, "MEMORY": 4e9})
    rc.resources["SSD"] = 1  # the attribute is a plain dict, as Azure ML's runconfig settings are
    s = step("train", runconfig=rc, resources={"GPU": 2})
    assert s.resources == {"GPU": 2, "MEMORY": 4e9, "SSD": 1}
    graph = Pipeline(None, [s, step("plain")]).graph()
    train, plain = graph["steps"]
    assert train["resources"] == {"GPU": 2, "MEMORY": 4e9, "SSD": 1}
    assert train["runconfig"]["resources"] == {"GPU": 1, "MEMORY": 4e9, "SSD": 1}
    # Steps without resources keep the graph they had: no key at all (pipeline ids do not change).
    assert "resources" not in plain
    assert "resources" not in Pipeline(None, [step("q", runconfig=RunConfiguration())]).graph()["steps"][0]["runconfig"]


@pytest.mark.parametrize(("given", "message"), [
    ({"GPU": 0}, "step 'bad': resource 'GPU' must be a positive number, not 0"),
    ({"GPU": -1}, "step 'bad': resource 'GPU' must be a positive number, not -1"),
    ({"GPU": "1"}, "step 'bad': resource 'GPU' must be a positive number, not '1'"),
    ({"GPU": True}, "step 'bad': resource 'GPU' must be a positive number, not True"),
    ({"GPU": float("nan")}, "step 'bad': resource 'GPU' must be a positive number, not nan"),
    ({"": 1}, "step 'bad': resource name '' must be a non-empty word"),
    ({"GPU=1": 1}, "step 'bad': resource name 'GPU=1' must be a non-empty word"),
    (["GPU"], "step 'bad': resources must be a dict such as"),
])
def test_validate_refuses_what_is_not_a_positive_number_naming_the_step(scripts, given, message):
    [problem] = Pipeline(None, [step("bad", resources=given)]).validate()
    assert problem.startswith(message), problem


def test_runconfig_resources_are_checked_too(scripts):
    rc = RunConfiguration()
    rc.resources = {"GPU": -2}
    assert Pipeline(None, [step("a", runconfig=rc)]).validate() == [
        "step 'a': resource 'GPU' must be a positive number, not -2"]
    rc.resources = "GPU=1"
    assert Pipeline(None, [step("b", runconfig=rc)]).validate() == [
        "step 'b': runconfig: resources must be a dict such as {'GPU': 1, 'MEMORY': 4e9}, not str"]
    with pytest.raises(DefinitionError, match="step 'c': resource 'GPU' must be a positive number"):
        Pipeline(None, [step("c", resources={"GPU": 0})]).graph()


def test_helpers():
    assert merged({"GPU": 1, "M": 2}, None, {"GPU": 3}) == {"GPU": 3, "M": 2}
    assert describe({"MEMORY": 4e9, "GPU": 1.0}) == "GPU=1, MEMORY=4e+09"
    assert fits({"GPU": 1}, {"GPU": 2, "M": 1}) and not fits({"GPU": 2}, {"GPU": 1}) and not fits({"X": 1}, {})
    assert fits({}, {}) and resource_problems("x", None) == []


def test_resources_are_not_in_the_reuse_key():
    import inspect

    from headrace.engine.reuse import reuse_key

    # placement, not content: the same step on a bigger worker reuses its earlier results
    assert "resources" not in inspect.signature(reuse_key).parameters
