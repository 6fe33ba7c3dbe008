"""Bad input around Dask targets: settings, unknown targets, local data the workers cannot reach, an
unreachable scheduler. Each error names the wrong thing."""

from __future__ import annotations

import json
import socket

import pytest
from dask_cluster import make_dask_ws
from typer.testing import CliRunner

from headrace import (
    ComputeTarget,
    DaskCompute,
    Datastore,
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
)
from headrace.cli.main import app
from headrace.errors import ComputeTargetException, DefinitionError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_settings_are_refused_naming_them(workspace):
    with pytest.raises(ComputeTargetException, match="'localhost:8786' is not a Dask scheduler address"):
        DaskCompute.attach_configuration(address="localhost:8786")
    with pytest.raises(ComputeTargetException, match="resource 'GPU' must be a number > 0"):
        DaskCompute.attach_configuration(address="tcp://h:8786", resources={"GPU": -1})
    with pytest.raises(ComputeTargetException, match="mounted_paths"):
        DaskCompute.attach_configuration(address="tcp://h:8786", mounted_paths=["relative/dir"])
    target = ComputeTarget.attach(workspace, "dask1", DaskCompute.attach_configuration(
        address="tcp://h:8786", resources={"GPU": 1}, retries=2))
    assert isinstance(target, DaskCompute) and (target.address, target.resources) == ("tcp://h:8786", {"GPU": 1.0})
    assert isinstance(ComputeTarget(workspace, "dask1"), DaskCompute)
    assert workspace.compute_targets["dask1"].type == "dask"


def test_cli_create_show_list_delete(workspace):
    runner = CliRunner(env={"COLUMNS": "200"})

    def cli(*args: str, expect: int = 0) -> str:
        result = runner.invoke(app, [*args, "--home", str(workspace.home)])
        assert result.exit_code == expect, (result.output, result.exception)
        return result.output + (str(result.exception) if result.exception else "")

    out = cli("compute", "create", "gpu-dask", "--type", "dask", "--scheduler", "tcp://10.0.0.5:8786",
              "--resources", "GPU=1", "--resources", "MEMORY=4e9", "--retries", "2")
    assert "compute target 'gpu-dask' (dask, scheduler tcp://10.0.0.5:8786, resources" in out
    shown = json.loads(cli("compute", "show", "gpu-dask", "--json"))
    assert shown["type"] == "dask" and shown["config"]["resources"] == {"GPU": 1.0, "MEMORY": 4e9}
    assert shown["config"]["retries"] == 2 and shown["config"]["address"] == "tcp://10.0.0.5:8786"
    assert "address: tcp://10.0.0.5:8786" in cli("compute", "show", "gpu-dask")
    assert "gpu-dask" in cli("compute", "list")
    assert "not a Dask scheduler address" in cli("compute", "create", "bad", "--type", "dask", expect=1)
    assert "is not NAME=NUMBER" in cli("compute", "create", "bad", "--type", "dask", "--scheduler", "tcp://h:1",
                                       "--resources", "GPU", expect=1)
    assert "configured targets: local, gpu-dask" in cli("compute", "show", "nope", expect=1)
    cli("compute", "delete", "gpu-dask")
    assert "gpu-dask" not in cli("compute", "list")


def test_unknown_target_names_the_existing_ones(workspace, write_scripts):
    ComputeTarget.attach(workspace, "dask1", DaskCompute.attach_configuration(address="tcp://h:8786"))
    src = write_scripts({"a.py": "print(1)\n"})
    pipeline = Pipeline(workspace=workspace, steps=[PythonScriptStep("a.py", source_directory=str(src),
                                                                     compute_target="dask2")])
    [problem] = pipeline.validate()
    assert "'dask2' does not exist; configured targets: dask1, local" in problem
    with pytest.raises(DefinitionError, match="configured targets: dask1, local"):
        Experiment(workspace, "bad").submit(pipeline)


def test_local_data_the_workers_cannot_reach_fails_at_submit(tmp_path, monkeypatch, write_scripts):
    ws = make_dask_ws(tmp_path / "home", f"tcp://127.0.0.1:{_closed_port()}", monkeypatch)
    src = write_scripts({"a.py": "print(1)\n"})
    out = PipelineData("out", datastore=ws.get_default_datastore())  # a folder of this machine
    step = PythonScriptStep("a.py", source_directory=str(src), arguments=["--out", out], outputs=[out],
                            compute_target="cluster")
    with pytest.raises(DefinitionError, match="datastore 'workspaceblobstore' is a local folder its workers cannot "
                                              "reach.*mounted_paths"):
        Experiment(ws, "bad").submit(Pipeline(workspace=ws, steps=[step]))
    # Declared as mounted by every worker: accepted.
    ComputeTarget.attach(ws, "mounted", DaskCompute.attach_configuration(
        address="tcp://127.0.0.1:1", mounted_paths=[str(ws.home)]))
    step = PythonScriptStep("a.py", source_directory=str(src), arguments=["--out", out], outputs=[out],
                            compute_target="mounted", allow_reuse=False)
    Experiment(ws, "ok").submit(Pipeline(workspace=ws, steps=[step])).cancel()


def test_an_unreachable_scheduler_fails_the_step_naming_its_address(tmp_path, monkeypatch, write_scripts):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    ws = make_dask_ws(tmp_path / "home", address, monkeypatch, connect_timeout=1)
    src = write_scripts({"a.py": "print(1)\n"})
    out = PipelineData("out", datastore=Datastore(ws, "lake"))
    step = PythonScriptStep("a.py", source_directory=str(src), arguments=["--out", out], outputs=[out],
                            compute_target="cluster")
    run = Experiment(ws, "unreachable").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False, timeout_seconds=60) == "Failed"
    [step_run] = run.get_steps()
    assert f"cannot reach the Dask scheduler at {address} (compute target 'cluster') within 1s" in step_run.error
    assert address in step_run.get_execution_log()
