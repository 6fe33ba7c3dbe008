"""``ws.set_default_datastore``: where PipelineData without a datastore goes, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import Datastore, Experiment, Pipeline, PipelineData, PythonScriptStep
from headrace.errors import ConfigError, NotFoundError

WRITE = "import sys, pathlib\np = pathlib.Path(sys.argv[1]); p.mkdir(parents=True, exist_ok=True)\n" \
        "(p / 'out.txt').write_text('hello')\n"


def _pipeline(ws, folder: Path) -> Pipeline:
    folder.mkdir(exist_ok=True)
    (folder / "write.py").write_text(WRITE)
    out = PipelineData("out")  # no datastore: the workspace's default at submit
    step = PythonScriptStep(name="write", script_name="write.py", source_directory=folder, arguments=[out],
                            outputs=[out], allow_reuse=False)
    return Pipeline(workspace=ws, steps=[step])


def test_the_default_datastore_can_be_changed_and_takes_new_pipeline_data(ws, tmp_path: Path) -> None:
    assert ws.get_default_datastore().name == "workspaceblobstore"
    Datastore.register_local(ws, "lake", "lake-folder")
    with pytest.raises(NotFoundError, match="'nope'.*registered datastores: lake, workspaceblobstore"):
        ws.set_default_datastore("nope")
    before = Experiment(ws, "defaults").submit(_pipeline(ws, tmp_path / "src"))
    assert before.wait_for_completion() == "Finished"

    ws.set_default_datastore("lake")
    assert ws.get_default_datastore().name == "lake"
    after = Experiment(ws, "defaults").submit(_pipeline(ws, tmp_path / "src"))
    assert after.wait_for_completion() == "Finished"

    first = before.find_step_run("write")[0].get_output_data("out")
    second = after.find_step_run("write")[0].get_output_data("out")
    assert (first.datastore_name, second.datastore_name) == ("workspaceblobstore", "lake")
    assert (Path(second.download(tmp_path / "dl")) / "out.txt").read_text() == "hello"

    with pytest.raises(ConfigError, match="'lake' is the workspace's default datastore and cannot be unregistered"):
        ws.datastores["lake"].unregister()
    ws.set_default_datastore("workspaceblobstore")
    ws.datastores["lake"].unregister()
    assert ws.get_default_datastore().name == "workspaceblobstore"
