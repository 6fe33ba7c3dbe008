"""Steps in their own environments, on both backends: the package from the environment imports, the reuse key
follows the requirements, a build failure fails the step with the resolver's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from environments.wheels import make_wheel, offline
from headrace import CondaDependencies, Environment, Experiment, Pipeline, PythonScriptStep, RunConfiguration

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
