from __future__ import annotations

import os

import pytest

from headrace.core import PipelineData, PythonScriptStep
from headrace.errors import DefinitionError


def test_source_directory_resolved_against_cwd(scripts):
    step = PythonScriptStep(name="prep", script_name="prep.py", source_directory="scripts")
    assert step.source_directory == str(scripts)
    assert os.path.isabs(step.source_directory)


def test_defaults():
    step = PythonScriptStep("s.py", "s")
    assert step.source_directory is None
    assert (step.arguments, step.inputs, step.outputs) == ([], [], [])
    assert step.allow_reuse is True
    assert step.compute_target == "local"
    assert step.environment_variables == {}
    assert step.timeout_seconds is None
    assert step.kind == "python_script"


def test_compute_target_object_is_reduced_to_its_name():
    class Target:
        name = "gpu"

    assert PythonScriptStep("s.py", "s", compute_target=Target()).compute_target == "gpu"


def test_outputs_register_their_producer():
    data = PipelineData("d")
    step = PythonScriptStep("s.py", "s", outputs=[data])
    assert data._producers == [step]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "", "script_name": "a.py"}, "non-empty str name"),
        ({"name": 3, "script_name": "a.py"}, "non-empty str name"),
        ({"name": "s", "script_name": ""}, "step 's': script_name"),
        ({"name": "s", "script_name": None}, "step 's': script_name"),
        ({"name": "s", "script_name": "a.py", "arguments": "--x"}, "arguments must be a list"),
        ({"name": "s", "script_name": "a.py", "inputs": PipelineData("x")}, "inputs must be a list"),
        ({"name": "s", "script_name": "a.py", "environment_variables": ["A"]}, "must be a dict"),
    ],
)
def test_constructor_type_checks(kwargs, fragment):
    with pytest.raises(DefinitionError) as info:
        PythonScriptStep(**kwargs)
    assert any(fragment in p for p in info.value.problems)
