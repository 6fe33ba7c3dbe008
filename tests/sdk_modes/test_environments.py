"""Steps in their own environments, on both backends: the package from the environment imports, the reuse key
follows the requirements, a build failure fails the step with the resolver's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.wheels import make_wheel, offline
from headrace import CondaDependencies, Environment, Experiment, Pipeline, PythonScriptStep, RunConfiguration
from headrace.core.runconfig import IgnoredSettingWarning
from headrace.errors import EnvironmentBuildError, NotFoundError

TOY = "import sys, hrtoy\nprint('hrtoy', hrtoy.VERSION, sys.prefix != sys.base_prefix)\n"


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(folder, "hrtoy", "1.0")
    make_wheel(folder, "hrtoy", "2.0")
    return folder


def toy_env(wheels: Path, version: str) -> Environment:
    env = Environment("toy-env")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=[f"hrtoy=={version}", *offline(wheels)])
    return env


def test_step_runs_in_its_environment_and_reuse_follows_the_requirements(ws, write_scripts, wheels) -> None:
    scripts = write_scripts({"toy.py": TOY})

    def run_with(env: Environment):
        step = PythonScriptStep("toy.py", source_directory=scripts, environment=env)
        run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[step]))
        assert run.wait_for_completion(show_output=False) == "Finished"
        return run.find_step_run("toy.py")[0]

    first = run_with(toy_env(wheels, "1.0"))
    assert first.get_stdout_log() == "hrtoy 1.0 True\n"
    log = first.get_execution_log()
    assert "environment 'toy-env' version (unregistered)" in log and "building with uv-venv" in log
    assert "process forked from the warm step interpreter" in log  # the environment's own warm interpreter
    assert run_with(toy_env(wheels, "1.0")).is_reused
    second = run_with(toy_env(wheels, "2.0"))
    assert not second.is_reused and second.get_stdout_log() == "hrtoy 2.0 True\n"


def test_runconfig_environment_and_conda_dependencies(ws, write_scripts, wheels) -> None:
    scripts = write_scripts({"toy.py": TOY})
    rc = RunConfiguration(conda_dependencies=CondaDependencies.create(pip_packages=["hrtoy==2.0", *offline(wheels)]))
    by_deps = PythonScriptStep("toy.py", name="by_deps", source_directory=scripts, runconfig=rc)
    rc2 = RunConfiguration()
    rc2.environment = toy_env(wheels, "1.0")
    by_env = PythonScriptStep("toy.py", name="by_env", source_directory=scripts, runconfig=rc2)
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[by_deps, by_env]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("by_deps")[0].get_stdout_log() == "hrtoy 2.0 True\n"
    assert run.find_step_run("by_env")[0].get_stdout_log() == "hrtoy 1.0 True\n"


def test_a_build_failure_fails_the_step_with_the_resolvers_message(ws, write_scripts, wheels) -> None:
    scripts = write_scripts({"toy.py": TOY})
    step = PythonScriptStep("toy.py", source_directory=scripts, environment=toy_env(wheels, "9.9"))
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    step_run = run.find_step_run("toy.py")[0]
    assert step_run.status == "Failed"
    details = step_run.get_details()
    assert "hrtoy==9.9" in str(details) and "building the environment failed" in str(details)


def test_register_get_list_versions(ws, wheels) -> None:
    first = toy_env(wheels, "1.0")
    first.environment_variables = {"MODE": "fast"}
    registered = first.register(ws)
    assert (registered.name, registered.version, first.version) == ("toy-env", "1", "1")
    assert toy_env(wheels, "1.0").register(ws).version == "2"  # other variables: other content
    again = toy_env(wheels, "1.0")
    again.environment_variables = {"MODE": "fast"}
    assert again.register(ws).version == "1"  # the same content is the same version
    assert toy_env(wheels, "2.0").register(ws).version == "3"
    newest = Environment.get(ws, "toy-env")
    assert newest.version == "3" and "hrtoy==2.0" in newest.python.conda_dependencies.pip_packages
    v1 = Environment.get(ws, "toy-env", version="1")
    assert v1.environment_variables == {"MODE": "fast"}
    assert v1._headrace_environment()["hash"] == registered._headrace_environment()["hash"]
    other = Environment("other")
    other.register(ws)
    listed = Environment.list(ws)
    assert sorted(listed) == ["other", "toy-env"] and listed["toy-env"].version == "3"
    assert {n: e.version for n, e in ws.environments.items()} == {"other": "1", "toy-env": "3"}
    assert (other.docker.shared_volumes, other.docker.build_context) == (True, None)  # Azure ML's attributes
    with pytest.raises(NotFoundError, match="its versions: 1, 2, 3"):
        Environment.get(ws, "toy-env", version=9)
    with pytest.raises(NotFoundError, match="registered environments: other, toy-env"):
        Environment.get(ws, "nope")
    with pytest.raises(NotFoundError, match=r"curated environments .*`headrace environment register "
                                            r"AzureML-sklearn-1\.5 -r requirements\.txt`"):
        Environment.get(ws, "AzureML-sklearn-1.5")  # a notebook's curated name: says how to provide it


def test_a_registered_environment_runs_its_steps_and_builds_on_demand(ws, write_scripts, wheels) -> None:
    toy_env(wheels, "2.0").register(ws)
    env = Environment.get(ws, "toy-env")
    built = env.build(ws)
    assert built.status == "Succeeded" and "building with uv-venv" in built.get_log()
    assert "ready (built earlier)" in env.build(ws).get_log() or "reused" in env.build(ws).get_log()
    scripts = write_scripts({"toy.py": TOY})
    step = PythonScriptStep("toy.py", source_directory=scripts, environment=env)
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    step_run = run.find_step_run("toy.py")[0]
    assert step_run.get_stdout_log() == "hrtoy 2.0 True\n"
    log = step_run.get_execution_log()
    assert "environment 'toy-env' version 1" in log and "building" not in log
    broken = Environment("broken")
    broken.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==7.0", *offline(wheels)])
    with pytest.raises(EnvironmentBuildError, match="hrtoy==7.0"):
        broken.build(ws)


def test_conda_file_pip_section_is_installed_and_conda_packages_warned(ws, write_scripts, wheels, tmp_path) -> None:
    conda = tmp_path / "conda.yml"
    conda.write_text("name: project\nchannels: [conda-forge]\ndependencies:\n  - scikit-learn=1.3\n  - pip\n"
                     f"  - pip:\n    - hrtoy==1.0\n    - --no-index\n    - --find-links {wheels}\n    - azureml-defaults\n")
    env = Environment.from_conda_specification("from-conda", str(conda))
    env.docker.base_image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
    assert env.spec()["pip"] == ["hrtoy==1.0", "--no-index", f"--find-links {wheels}"]  # azureml-* is headrace
    scripts = write_scripts({"toy.py": TOY})
    with pytest.warns(IgnoredSettingWarning, match="docker image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04; "
                                                   "conda packages scikit-learn=1.3") as caught:
        step = PythonScriptStep("toy.py", source_directory=scripts, environment=env)
    assert "no conda channel or image registry" in str(caught[0].message)
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    step_run = run.find_step_run("toy.py")[0]
    assert step_run.get_stdout_log() == "hrtoy 1.0 True\n"
    assert "not applied: conda packages scikit-learn=1.3" in step_run.get_execution_log()


def test_from_pip_requirements_resolves_relative_find_links(ws, write_scripts, wheels, tmp_path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# the toy\nhrtoy==2.0\n--no-index\n--find-links wheels\n")
    env = Environment.from_pip_requirements("from-pip", str(req))
    assert env.spec()["pip"] == ["hrtoy==2.0", "--no-index", f"--find-links {wheels}"]
    scripts = write_scripts({"toy.py": TOY})
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[
        PythonScriptStep("toy.py", source_directory=scripts, environment=env)]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("toy.py")[0].get_stdout_log() == "hrtoy 2.0 True\n"


def test_published_pipeline_keeps_its_environment_and_pages_show_it(server, write_scripts, wheels) -> None:
    import httpx

    from headrace import PublishedPipeline, Workspace

    ws = Workspace(url=server.url, token=server.tokens["admin"])
    try:
        env = toy_env(wheels, "1.0")
        env.register(ws)
        scripts = write_scripts({"toy.py": TOY})
        pipeline = Pipeline(workspace=ws, steps=[PythonScriptStep("toy.py", source_directory=scripts,
                                                                  environment=Environment.get(ws, "toy-env"))])
        published = pipeline.publish(name="toy", description="in an environment")
        run = PublishedPipeline.get(ws, published.id).submit(ws, experiment_name="envs")
        assert run.wait_for_completion(show_output=False) == "Finished"
        assert run.find_step_run("toy.py")[0].get_stdout_log() == "hrtoy 1.0 True\n"
        with httpx.Client(base_url=server.url, timeout=30) as c:
            c.get("/signin")
            c.post("/signin", data={"token": server.tokens["reader"], "csrf": c.cookies["headrace_signin_csrf"]})
            page = c.get(f"/runs/{run.id}").text
            assert "toy-env version 1" in page and "hrtoy==1.0" in page and "--find-links" not in page
            assert "environment toy-env version 1" in c.get(f"/pipelines/{published.id}").text
    finally:
        ws._backend.close()


def test_a_python_that_is_not_installed_fails_the_step_naming_the_installed_ones(ws, write_scripts, wheels) -> None:
    import sys

    env = Environment("old-python")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["hrtoy==1.0", *offline(wheels)],
                                                             python_version="3.99")
    step = PythonScriptStep("toy.py", source_directory=write_scripts({"toy.py": TOY}), environment=env)
    run = Experiment(ws, "envs").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    error = str(run.find_step_run("toy.py")[0].get_details())
    assert "Python 3.99 is not installed" in error and ".".join(map(str, sys.version_info[:3])) in error
