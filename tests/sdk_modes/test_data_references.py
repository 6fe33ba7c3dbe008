"""DataReference inputs, PipelineData bindings and step outputs, the data-dependency way."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import DataReference, Experiment, Pipeline, PipelineData, PythonScriptStep, StepRunOutput
from headrace.errors import DefinitionError

from .scripts import CSV, upload_csv

COPY = r'''
import argparse, os, shutil
p = argparse.ArgumentParser(); p.add_argument("--input_data"); p.add_argument("--output"); a = p.parse_args()
src = a.input_data if os.path.isfile(a.input_data) else os.path.join(a.input_data, os.listdir(a.input_data)[0])
os.makedirs(a.output, exist_ok=True)
shutil.copy(src, os.path.join(a.output, "copy.csv"))
print("env points at the input:", os.environ["AZUREML_DATAREFERENCE_test_data"] == a.input_data
      if "AZUREML_DATAREFERENCE_test_data" in os.environ else "n/a")
'''


def test_data_reference_input_and_bound_pipeline_data_run(ws, scripts, tmp_path, monkeypatch):
    upload_csv(ws, tmp_path, "Titanic.csv")
    (scripts / "copy.py").write_text(COPY)
    ds = ws.get_default_datastore()
    ref = DataReference(datastore=ds, data_reference_name="test_data", path_on_datastore="raw/Titanic.csv")
    first_out = PipelineData("processed_data1", datastore=ds, is_directory=True)
    second_out = PipelineData("processed_data2", datastore=ds, is_directory=True)
    PythonScriptStep(script_name="copy.py", arguments=["--input_data", ref, "--output", first_out],
                     inputs=[ref], outputs=[first_out], source_directory=scripts)
    extract = PythonScriptStep(script_name="copy.py", name="extract",
                               arguments=["--input_data", first_out.as_download(), "--output", second_out],
                               inputs=[first_out.as_input("in1")], outputs=[second_out], source_directory=scripts)
    pipeline = Pipeline(workspace=ws, steps=[extract])
    assert [s.name for s in pipeline.steps] == ["copy.py", "extract"]
    run = Experiment(ws, "Data_dependency_sample").submit(pipeline)
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert "env points at the input: True" in run.find_step_run("copy.py")[0].get_stdout_log()

    outputs = run.find_step_run("copy.py")[0].get_outputs()
    assert list(outputs) == ["processed_data1"] and isinstance(outputs["processed_data1"], StepRunOutput)
    ref_out = outputs["processed_data1"].get_port_data_reference()
    assert ref_out.datastore_name == "workspaceblobstore"
    assert ref_out.path_on_datastore.endswith("/processed_data1")
    monkeypatch.chdir(tmp_path)
    local = Path(run.find_step_run("copy.py")[0].get_output_data("processed_data1").download("./outputs"))
    assert (local / "copy.csv").read_text() == CSV
    assert local.resolve().is_relative_to(tmp_path / "outputs")


def test_data_reference_objects():
    ref = DataReference("workspaceblobstore", "test_data", "titanic/Titanic.csv")
    assert str(ref) == "$AZUREML_DATAREFERENCE_test_data" and ref.mode == "mount"
    down = ref.as_download(path_on_compute="data")
    assert (down.mode, down.path_on_compute, down.data_reference_name) == ("download", "data", "test_data")
    assert ref.path("more").path_on_datastore == "titanic/Titanic.csv/more"
    auto = DataReference("workspaceblobstore", path_on_datastore="a/b")
    assert auto.data_reference_name == DataReference("workspaceblobstore", path_on_datastore="a/b").name
    with pytest.raises(DefinitionError, match="mode 'upload' is not supported"):
        DataReference("workspaceblobstore", "x", "a", mode="upload")


def test_downloading_an_output_again_keeps_existing_files(ws, scripts, tmp_path):
    """Regression: a second download into the same folder (a reused step, a notebook run twice) raised
    "exists; pass overwrite=True"; Azure ML skips the files that are already there."""
    (scripts / "copy.py").write_text(COPY)
    upload_csv(ws, tmp_path, "Titanic.csv")
    ref = DataReference(ws.get_default_datastore(), "test_data", "raw/Titanic.csv")
    out = PipelineData("processed_data1")
    step = PythonScriptStep(script_name="copy.py", arguments=["--input_data", ref, "--output", out], inputs=[ref],
                            outputs=[out], source_directory=scripts)
    run = Experiment(ws, "exp").submit(Pipeline(workspace=ws, steps=[step]))
    run.wait_for_completion(show_output=False)
    data = run.find_step_run("copy.py")[0].get_output_data("processed_data1")
    first = Path(data.download(tmp_path / "outputs"))
    (first / "copy.csv").write_text("edited")
    assert Path(data.download(tmp_path / "outputs")) == first
    assert (first / "copy.csv").read_text() == "edited"
    data.download(tmp_path / "outputs", overwrite=True)
    assert (first / "copy.csv").read_text() == CSV
