"""``engine.environments.ensure``: uv-built virtual environments, content-addressed, built once, reused."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from headrace.core.conda import CondaDependencies
from headrace.core.environment import EnvironmentDefinition
from headrace.engine import environments
from headrace.errors import EnvironmentBuildError

from .wheels import make_wheel, offline


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    make_wheel(folder, "hrtoy", "1.0", "def hello():\n    return 'hello from hrtoy'")
    make_wheel(folder, "hrtoy", "2.0")
    return folder


def spec(wheels: Path, *requirements: str, python: str | None = None) -> dict:
    env = EnvironmentDefinition("toy")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=[*requirements, *offline(wheels)], python_version=python)
    return env.spec()


def test_builds_a_venv_with_the_package_and_reuses_it(wheels: Path, tmp_path: Path) -> None:
    log: list[str] = []
    python = environments.ensure(spec(wheels, "hrtoy==1.0"), tmp_path / "envs", log)
    assert python != Path(sys.executable) and python.is_relative_to(tmp_path / "envs")
    out = subprocess.run([str(python), "-c", "import hrtoy, headrace; print(hrtoy.hello())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "hello from hrtoy\n"
    assert any("building with uv-venv" in line for line in log)
    assert any("hrtoy==1.0" in line for line in log)  # uv's output is in the log
    again: list[str] = []
    assert environments.ensure(spec(wheels, "hrtoy==1.0"), tmp_path / "envs", again) == python
    assert not any("building" in line for line in again)
    environments._ready.clear()  # another process: found on disk
    later: list[str] = []
    assert environments.ensure(spec(wheels, "hrtoy==1.0"), tmp_path / "envs", later) == python
    assert any("reused from" in line for line in later)


def test_built_once_under_concurrent_requests(wheels: Path, tmp_path: Path) -> None:
    logs: list[list[str]] = [[] for _ in range(6)]
    results: list[Path] = []
    start = threading.Barrier(len(logs))

    def ask(log: list[str]) -> None:
        start.wait()
        results.append(environments.ensure(spec(wheels, "hrtoy==2.0"), tmp_path / "envs", log))

    threads = [threading.Thread(target=ask, args=(log,)) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == len(logs)
    assert sum(any("building with" in line for line in log) for log in logs) == 1
    assert len([p for p in (tmp_path / "envs").iterdir() if p.is_dir() and not p.name.startswith(".")]) == 1


def test_a_requirement_that_does_not_resolve_fails_with_the_resolvers_message(wheels: Path, tmp_path: Path) -> None:
    log: list[str] = []
    with pytest.raises(EnvironmentBuildError, match=r"(?s)building the environment failed.*hrtoy==3\.0") as info:
        environments.ensure(spec(wheels, "hrtoy==3.0"), tmp_path / "envs", log)
    assert "hrtoy" in str(info.value)
    assert [p for p in (tmp_path / "envs").iterdir() if p.is_dir() and not p.name.startswith(".")] == []
    # Fixed: the next request builds.
    make_wheel(wheels, "hrtoy", "3.0")
    assert environments.ensure(spec(wheels, "hrtoy==3.0"), tmp_path / "envs", []).exists()


def test_a_python_that_is_not_installed_is_refused_naming_the_installed_ones(wheels: Path, tmp_path: Path) -> None:
    with pytest.raises(EnvironmentBuildError) as info:
        environments.ensure(spec(wheels, "hrtoy==1.0", python="3.99"), tmp_path / "envs", [])
    message = str(info.value)
    assert "Python 3.99 is not installed" in message
    assert ".".join(map(str, sys.version_info[:3])) in message


def test_nothing_to_build_is_the_agents_interpreter(tmp_path: Path) -> None:
    log: list[str] = []
    assert environments.ensure(EnvironmentDefinition("empty").spec(), tmp_path / "envs", log) == Path(sys.executable)
    assert not (tmp_path / "envs").exists()


def test_conda_packages_are_named_in_the_build_log(wheels: Path, tmp_path: Path) -> None:
    env = EnvironmentDefinition("mixed")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["hrtoy==1.0", *offline(wheels)], conda_packages=["scikit-learn"])
    log: list[str] = []
    environments.ensure(env.spec(), tmp_path / "envs", log)
    assert any("not applied: conda packages scikit-learn" in line for line in log)
