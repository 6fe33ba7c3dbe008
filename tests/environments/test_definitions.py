"""Environment definitions: specs and their hash, files read, what is not applied, the graph record, aliases."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import CondaDependencies, Environment, Pipeline, PythonScriptStep, RunConfiguration
from headrace.core.environment import check_spec, not_honoured, spec_hash
from headrace.core.runconfig import IgnoredSettingWarning
from headrace.errors import DefinitionError


def test_spec_and_hash_follow_the_content_not_the_name() -> None:
    a = Environment("a")
    a.python.conda_dependencies = CondaDependencies.create(pip_packages=["pandas>=2"], python_version="3.11")
    b = a.clone("b")
    assert (b.name, b.version) == ("b", None)
    assert spec_hash(a.spec()) == spec_hash(b.spec())
    b.python.conda_dependencies.add_pip_package("numpy")
    assert spec_hash(a.spec()) != spec_hash(b.spec())
    assert a.spec()["python"] == "3.11" and a.spec()["pip"] == ["pandas>=2"]
    assert check_spec(a.spec()) == a.spec()


def test_pip_index_url_and_options() -> None:
    deps = CondaDependencies.create(pip_indexurl="https://pkgs.example/simple", pip_packages=["x", "--no-index"])
    assert deps.pip_packages == ["x"]
    assert deps.pip_options == ["--extra-index-url https://pkgs.example/simple", "--no-index"]
    with pytest.raises(DefinitionError, match="must start with '-'"):
        deps.set_pip_option("index-url")


def test_conda_file_round_trip_and_what_is_not_honoured(tmp_path: Path) -> None:
    conda = tmp_path / "env.yml"
    conda.write_text("name: x\nchannels:\n  - defaults\ndependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip\n"
                     "  - pip:\n    - requests==2.32\n    - --find-links ./wheels\n")
    env = Environment.from_conda_specification("x", str(conda))
    spec = env.spec()
    assert spec["python"] == "3.11" and spec["conda"] == ["numpy=1.26"] and spec["channels"] == ["defaults"]
    assert spec["pip"] == ["requests==2.32", f"--find-links {tmp_path / 'wheels'}"]
    assert not_honoured(spec) == ["conda packages numpy=1.26"]
    again = CondaDependencies(env.python.conda_dependencies.save(str(tmp_path / "saved.yml")))
    assert again == env.python.conda_dependencies
    with pytest.raises(DefinitionError, match="not a conda environment file"):
        conda.write_text("- just a list\n")
        Environment.from_conda_specification("x", str(conda))
    with pytest.raises(DefinitionError, match="cannot read the requirements file"):
        Environment.from_pip_requirements("x", str(tmp_path / "missing.txt"))


def test_docker_image_is_recorded_and_warned(tmp_path: Path) -> None:
    env = Environment.from_docker_image("img", "myregistry/image:1")
    assert not_honoured(env.spec()) == ["docker image myregistry/image:1"]
    with pytest.warns(IgnoredSettingWarning, match="docker image myregistry/image:1"):
        PythonScriptStep("s.py", source_directory=tmp_path, environment=env)


def test_the_graph_records_the_environment(tmp_path: Path) -> None:
    env = Environment("toy")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==1.0"])
    env.environment_variables = {"MODE": "fast"}
    (tmp_path / "s.py").write_text("")
    step = PythonScriptStep("s.py", source_directory=tmp_path, environment=env)
    plain = PythonScriptStep("s.py", name="plain", source_directory=tmp_path, runconfig=RunConfiguration())
    graph = Pipeline(None, [step, plain]).graph()
    recorded = {s["name"]: s for s in graph["steps"]}
    assert recorded["s.py"]["environment"] == {"name": "toy", "version": None, "hash": spec_hash(env.spec()),
                                               "spec": env.spec()}
    assert recorded["s.py"]["environment_variables"] == {"MODE": "fast"}
    assert "environment" not in recorded["plain"]  # a runconfig's own empty environment is the agent's
    with pytest.raises(DefinitionError, match="environment must be an Environment"):
        PythonScriptStep("s.py", source_directory=tmp_path, environment="toy")


def test_check_spec_names_bad_fields() -> None:
    with pytest.raises(DefinitionError) as info:
        check_spec({"pip": "pandas", "colour": "red", "python": 3.11})
    assert len(info.value.problems) == 3


def test_azureml_paths_serve_these_names() -> None:
    from azureml.core import Environment as AzEnvironment
    from azureml.core.conda_dependencies import CondaDependencies as AzConda
    from azureml.core.environment import Environment as AzEnvironment2
    from azureml.core.runconfig import RunConfiguration as AzRunConfiguration

    assert AzEnvironment is Environment is AzEnvironment2
    assert (AzConda, AzRunConfiguration) == (CondaDependencies, RunConfiguration)


def test_save_to_and_load_from_directory(tmp_path: Path) -> None:
    env = Environment("saved")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==1.0"], python_version="3.11")
    env.environment_variables = {"K": "v"}
    env.save_to_directory(str(tmp_path / "env"))
    with pytest.raises(DefinitionError, match="overwrite=True"):
        env.save_to_directory(str(tmp_path / "env"))
    loaded = Environment.load_from_directory(str(tmp_path / "env"))
    assert isinstance(loaded, Environment) and loaded.spec() == env.spec()
    with pytest.raises(DefinitionError, match="cannot load an environment"):
        Environment.load_from_directory(str(tmp_path))


def test_spark_settings_are_accepted_and_recorded_only_when_set(tmp_path: Path) -> None:
    env = Environment("predict")
    before = spec_hash(env.spec())
    env.spark.precache_packages = False  # Microsoft's iris sample sets this: nothing to record
    assert spec_hash(env.spec()) == before and "spark" not in env.spec()
    env.spark.packages = ["com.microsoft.ml.spark:mmlspark_2.11:0.15"]
    assert env.spec()["spark"]["packages"] == ["com.microsoft.ml.spark:mmlspark_2.11:0.15"]
    assert not_honoured(env.spec()) == ["spark packages com.microsoft.ml.spark:mmlspark_2.11:0.15"]
    assert check_spec(env.spec())["spark"] == env.spec()["spark"]
