"""Datasets on http(s) URLs on both backends: registered and pinned by the workspace (the server, when remote), read
by the notebook and by steps."""

from __future__ import annotations

from pathlib import Path

from headrace import (
    Dataset,
    DatasetConsumptionConfig,
    Experiment,
    Pipeline,
    PipelineParameter,
    PythonScriptStep,
)
from loopback import serve_folder

STEP = """
from headrace import Run
frame = Run.get_context().input_datasets["titanic"].to_pandas_dataframe()
print("ages", frame["Age"].sum())
"""


def test_a_url_dataset_registers_reads_and_feeds_a_step(ws, tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "Titanic.csv").write_text("Name,Age\nA,22\nB,38\n")
    with serve_folder(root) as url:
        table = Dataset.Tabular.from_delimited_files(f"{url}/Titanic.csv")
        table._workspace = ws  # the notebook's workspace (Workspace.from_config() otherwise)
        assert table.to_pandas_dataframe()["Age"].tolist() == [22, 38]
        version = table.register(ws, "titanic")
        assert (version.name, version.version, version._record.file_count) == ("titanic", 1, 1)
        assert Dataset.get_by_name(ws, "titanic").to_pandas_dataframe()["Age"].tolist() == [22, 38]
        (tmp_path / "steps").mkdir()
        (tmp_path / "steps" / "s.py").write_text(STEP)
        param = PipelineParameter("titanic_param", default_value=version)
        step = PythonScriptStep(name="s", script_name="s.py", source_directory=str(tmp_path / "steps"),
                                inputs=[DatasetConsumptionConfig("titanic", param)])
        run = Experiment(ws, "web").submit(Pipeline(workspace=ws, steps=[step]))
        assert run.wait_for_completion(show_output=False) == "Finished"
        assert "ages 60" in run.find_step_run("s")[0].get_stdout_log()
