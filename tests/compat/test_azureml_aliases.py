"""The headrace-azureml compatibility package: Azure ML's module paths resolve to headrace's objects."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from azureml import _headrace_aliases as aliases

import headrace


def test_every_module_path_imports_and_serves_headrace_objects():
    served = 0
    for path, names in aliases.MODULES.items():
        module = importlib.import_module(path)
        assert set(names) <= set(dir(module)), path
        for name in names:
            if name in headrace.__all__ or name == "VERSION" and hasattr(headrace, "VERSION"):
                assert getattr(module, name) is getattr(headrace, name), f"{path}.{name}"
                served += 1
    assert served >= 30  # the pipeline surface, at least


def test_submodules_are_attributes_of_their_package():
    import azureml

    assert azureml.pipeline.core.graph.PipelineParameter is headrace.PipelineParameter


def test_a_name_headrace_lacks_says_so_and_points_at_the_guide():
    path, missing = next((p, n) for p, names in aliases.MODULES.items() for n in names if not hasattr(headrace, n))
    with pytest.raises(ImportError, match=rf"{path.replace('.', '[.]')}[.]{missing} is Azure ML's, and headrace "
                                          r"does not provide it .*docs/migrating-from-azureml\.md"):
        exec(f"from {path} import {missing}", {})


def test_a_name_azure_ml_never_had_is_a_plain_attribute_error():
    import azureml.core

    with pytest.raises(AttributeError, match="'azureml.core' has no attribute 'Wrokspace'"):
        azureml.core.Wrokspace  # noqa: B018


def test_it_refuses_to_load_next_to_microsofts_azureml_core(tmp_path: Path):
    fake = tmp_path / "site"
    info = fake / "azureml_core-1.61.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: azureml-core\nVersion: 1.61.0\n")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    done = subprocess.run([sys.executable, "-c", "import azureml.core"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "Microsoft's azureml-core is installed in this environment too" in done.stderr
    assert "pip uninstall headrace-azureml" in done.stderr


PIPELINE = '''
import os
from azureml.core import Workspace, Experiment, Datastore
from azureml.data.datapath import DataPath, DataPathComputeBinding
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
store = Datastore(ws, "workspaceblobstore")
store.upload_files(["numbers.txt"], target_path="raw", overwrite=True)
source = PipelineParameter(name="source", default_value=DataPath(store, "raw/numbers.txt"))
total = PipelineData("total", datastore=store)
add = PythonScriptStep(name="add", script_name="add.py", source_directory="steps",
                       arguments=["--src", source, "--out", total], inputs=[source], outputs=[total])
show = PythonScriptStep(name="show", script_name="show.py", source_directory="steps",
                        arguments=["--total", total], inputs=[total])
run = Experiment(ws, "compat").submit(Pipeline(workspace=ws, steps=[show]))
run.wait_for_completion(show_output=False)
print("status", run.get_status())
for child in sorted(run.get_children(), key=lambda r: r.name):
    print("step", child.name, child.get_status())
'''

ADD = '''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--src"); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
total = sum(int(x) for x in open(a.src).read().split())
open(os.path.join(a.out, "total.txt"), "w").write(str(total))
'''

SHOW = '''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--total"); a = p.parse_args()
print("total is", open(os.path.join(a.total, "total.txt")).read())
'''


def test_a_script_written_for_azure_ml_runs_with_no_edit(tmp_path: Path):
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "add.py").write_text(ADD)
    (tmp_path / "steps" / "show.py").write_text(SHOW)
    (tmp_path / "numbers.txt").write_text("1 2 3 4\n")
    (tmp_path / "notebook.py").write_text(textwrap.dedent(PIPELINE))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["HEADRACE_HOME"] = str(tmp_path / "home")
    done = subprocess.run([sys.executable, "notebook.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "status Finished" in done.stdout
    assert "step add Finished" in done.stdout and "step show Finished" in done.stdout
