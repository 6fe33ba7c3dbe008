"""The public surface: names in ``headrace.__all__``, lazy imports, and the error tree."""

from __future__ import annotations

import inspect
import subprocess
import sys

import headrace
import headrace.errors as errors

ISSUE_13_NAMES = {"InteractiveLoginAuthentication", "PipelineDraft"}

CONTRACT_NAMES = {
    "Workspace", "Experiment", "Pipeline", "PythonScriptStep", "PipelineParameter", "PipelineData",
    "DataPath", "DataPathComputeBinding", "Datastore", "Run", "PipelineRun", "StepRun",
}


AZURE_DEFINITION_NAMES = {
    "VERSION", "RunDetails", "ComputeTarget", "AmlCompute", "ComputeTargetException", "RunConfiguration",
    "CondaDependencies", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DataReference", "InputPortBinding",
    "StepRunOutput", "PortDataReference", "DockerConfiguration", "DataReferenceConfiguration", "Environment",
}


EVENT_NAMES = {"Webhook", "Trigger"}


def test_event_names_are_exported():
    assert EVENT_NAMES <= set(headrace.__all__)


def test_azure_definition_names_are_exported():
    assert AZURE_DEFINITION_NAMES <= set(headrace.__all__)
    assert isinstance(headrace.VERSION, str) and issubclass(headrace.ComputeTargetException, errors.HeadraceError)


def test_all_is_sorted_and_resolvable():
    assert headrace.__all__ == sorted(headrace.__all__)
    for name in headrace.__all__:
        assert getattr(headrace, name) is not None


def test_contract_names_are_exported():
    assert CONTRACT_NAMES <= set(headrace.__all__)


def test_issue_13_runs_and_publishing_names_are_exported():
    assert ISSUE_13_NAMES <= set(headrace.__all__)


def test_step_kinds_are_exported():
    assert {"CommandStep", "DataTransferStep"} <= set(headrace.__all__)


def test_unknown_name_raises_attribute_error():
    try:
        headrace.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_cheap():
    code = "import sys, headrace; print(sorted(m for m in ('sqlalchemy', 'fsspec', 'typer', 'fastapi') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_error_derives_from_headrace_error():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    assert len(classes) > 5
    for cls in classes:
        assert issubclass(cls, errors.HeadraceError), cls


def test_step_failed_error_names_step_code_and_stderr():
    exc = errors.StepFailedError("r1", "train", 3, "Traceback...\nValueError: boom\n")
    text = str(exc)
    assert "'train'" in text and "exit code 3" in text and "ValueError: boom" in text
    assert exc.step == "train" and exc.exit_code == 3


def test_definition_error_lists_every_problem():
    exc = errors.DefinitionError(["step 'a': missing script", "step 'b': duplicate name"])
    assert "2 problem(s)" in str(exc) and "step 'a'" in str(exc) and "step 'b'" in str(exc)
