"""PythonScriptStep as Azure ML code builds it: default name, runconfig, run_after, hash_paths, params."""

from __future__ import annotations

import pytest

from headrace.core import Pipeline, PipelineData, PythonScriptStep
from headrace.core.runconfig import (
    DEFAULT_CPU_IMAGE,
    CondaDependencies,
    IgnoredSettingWarning,
    RunConfiguration,
    ignored_settings,
)
from headrace.errors import CycleError, DefinitionError


def test_name_defaults_to_the_script_name_and_azure_argument_order(scripts):
    step = PythonScriptStep("prep.py", source_directory="scripts")
    assert (step.name, step.script_name) == ("prep.py", "prep.py")
    assert PythonScriptStep(script_name="train.py").name == "train.py"
    with pytest.raises(DefinitionError, match="script_name None is invalid"):
        PythonScriptStep()


def test_hash_paths_and_version_are_accepted(scripts):
    step = PythonScriptStep("prep.py", source_directory="scripts", hash_paths=["."], version="2")
    graph = Pipeline(None, [step]).graph()
    assert graph["steps"][0]["version"] == "2"
    assert step.hash_paths == ["."]  # no effect: the whole source_directory is always hashed


def test_compute_target_from_tuple_or_runconfig():
    rc = RunConfiguration()
    rc.target = "gpu-cluster"
    assert PythonScriptStep("s.py", runconfig=rc).compute_target == "gpu-cluster"
    assert PythonScriptStep("s.py", compute_target=("cpu", "AmlCompute")).compute_target == "cpu"
    assert PythonScriptStep("s.py", runconfig=rc, compute_target="other").compute_target == "other"


def test_params_become_aml_parameter_variables():
    step = PythonScriptStep("s.py", params={"alpha": 0.5}, environment_variables={"X": "1"})
    assert step.environment_variables == {"AML_PARAMETER_alpha": "0.5", "X": "1"}
    with pytest.raises(DefinitionError, match="params must map names"):
        PythonScriptStep("s.py", params={"alpha": object()})


def test_conda_dependencies():
    deps = CondaDependencies.create(pip_packages=["pandas"], conda_packages=["scikit-learn"], python_version="3.11")
    deps.add_pip_package("numpy")
    deps.add_conda_package("scipy")
    deps.add_conda_package("scipy")
    assert (deps.pip_packages, deps.conda_packages, deps.get_python_version()) == (
        ["pandas", "numpy"], ["scikit-learn", "scipy"], "3.11")
    text = deps.serialize_to_string()
    assert "  - python=3.11\n  - scikit-learn\n  - scipy\n  - pip\n  - pip:\n    - pandas\n    - numpy\n" in text


def test_conda_file_round_trip(tmp_path):
    deps = CondaDependencies.create(pip_packages=["requests"], conda_packages=["numpy"])
    again = CondaDependencies(deps.save(str(tmp_path / "env.yml")))
    assert (again.pip_packages, again.conda_packages) == (["requests"], ["numpy"])


def test_runconfig_is_recorded_and_what_is_ignored_is_named(scripts):
    rc = RunConfiguration()
    assert ignored_settings(rc) == []
    rc.environment.docker.enabled = True
    rc.environment.docker.base_image = DEFAULT_CPU_IMAGE
    rc.environment.python.user_managed_dependencies = False
    rc.environment.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
    rc.environment.environment_variables = {"MODE": "fast"}
    with pytest.warns(IgnoredSettingWarning, match=r"step 'extract'.*docker image mcr.microsoft.com/azureml/"
                                                    r"openmpi4.1.0-ubuntu22.04; conda packages scikit-learn"):
        step = PythonScriptStep("prep.py", "extract", source_directory="scripts", runconfig=rc)
    assert step.environment_variables == {"MODE": "fast"}  # honoured
    recorded = Pipeline(None, [step]).graph()["steps"][0]["runconfig"]
    assert recorded["docker"] == {"enabled": True, "base_image": DEFAULT_CPU_IMAGE, "base_dockerfile": None}
    assert recorded["python"]["user_managed_dependencies"] is False
    assert "- scikit-learn" in recorded["python"]["conda_dependencies"]
    assert recorded["environment_variables"] == {"MODE": "fast"}
    rc.environment.python.user_managed_dependencies = True
    rc.environment.docker.enabled, rc.environment.docker.base_image = False, None
    assert ignored_settings(rc) == []


def test_run_after_pulls_in_orders_and_is_drawn(scripts):
    one = PythonScriptStep("prep.py", "one", source_directory="scripts")
    two = PythonScriptStep("train.py", "two", source_directory="scripts")
    three = PythonScriptStep("eval.py", "three", source_directory="scripts")
    two.run_after(one)
    three.run_after(two)
    three.run_after(two)
    pipeline = Pipeline(None, [three])
    assert [s.name for s in pipeline.steps] == ["one", "two", "three"]
    assert pipeline.validate() == []
    graph = pipeline.graph()
    assert [s["depends_on"] for s in graph["steps"]] == [[], ["one"], ["two"]]


def test_run_after_and_data_together_keep_data_producers_first(scripts):
    data = PipelineData("d")
    make = PythonScriptStep("prep.py", "make", source_directory="scripts", outputs=[data])
    other = PythonScriptStep("train.py", "other", source_directory="scripts")
    use = PythonScriptStep("eval.py", "use", source_directory="scripts", inputs=[data])
    use.run_after(other)
    use.run_after(make)
    assert Pipeline(None, [use]).graph()["steps"][-1]["depends_on"] == ["make", "other"]


def test_run_after_cycles_and_bad_targets_are_reported(scripts):
    a = PythonScriptStep("prep.py", "a", source_directory="scripts")
    b = PythonScriptStep("train.py", "b", source_directory="scripts")
    a.run_after(b)
    b.run_after(a)
    problems = Pipeline(None, [a]).validate()
    assert len(problems) == 1 and "steps 'a' -> 'b' -> 'a' form a cycle" in problems[0]
    assert "run_after" in problems[0]
    with pytest.raises(CycleError):
        Pipeline(None, [a]).graph()

    c = PythonScriptStep("eval.py", "c", source_directory="scripts")
    c.run_after("a")
    assert Pipeline(None, [c]).validate() == ["step 'c': run_after() was given a value of type str; pass a step"]
    d = PythonScriptStep("eval.py", "d", source_directory="scripts")
    e = PythonScriptStep("prep.py", "e", source_directory="scripts")
    e.run_after(d)
    [problem] = Pipeline(None, [e], resolve_closure=False).validate()
    assert "runs after step 'd', which is not in the pipeline" in problem


def test_docker_configuration_and_data_reference_config():
    from headrace import DataReference, DockerConfiguration

    rc = RunConfiguration()
    rc.docker = DockerConfiguration(use_docker=True)
    assert ignored_settings(rc) == [f"docker image {DEFAULT_CPU_IMAGE}"]
    config = DataReference("workspaceblobstore", "raw", "a/b.csv", mode="download").to_config()
    assert (config.datastore_name, config.mode, config.path_on_datastore) == ("workspaceblobstore", "download", "a/b.csv")
