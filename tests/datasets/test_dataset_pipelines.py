"""Datasets as step inputs: as_named_input / as_mount / as_download / direct, PipelineParameter defaults,
pinning at submit, reuse by version, lineage, and REST's DataSetDefinitionValueAssignments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headrace import (
    Dataset,
    DatasetConsumptionConfig,
    Experiment,
    Pipeline,
    PipelineParameter,
    PythonScriptStep,
    Workspace,
)
from headrace.errors import DefinitionError, ParameterError
from headrace.services import publishing, runs

TRAIN = """
import argparse, os
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--files"); p.add_argument("--table"); p.add_argument("--dl")
a = p.parse_args()
inputs = Run.get_context().input_datasets
print("files", sorted(os.listdir(a.files)), os.environ["file_dataset"] == a.files == inputs["file_dataset"])
print("table arg is the id", a.table == os.environ["tabular_dataset"])
frame = inputs["tabular_dataset"].to_pandas_dataframe()
print("rows", len(frame), "sum", int(frame["b"].sum()))
print("dl", sorted(os.listdir(inputs["dl"])))
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "home")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p1.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "data" / "p2.csv").write_text("a,b\n5,6\n")
    ws.get_default_datastore().upload(tmp_path / "data", target_path="in")
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "train.py").write_text(TRAIN)
    return ws


def pipeline(ws: Workspace, tmp_path: Path, table: object) -> Pipeline:
    store = ws.get_default_datastore()
    files = Dataset.File.from_files((store, "in/*.csv"))
    fc = DatasetConsumptionConfig("file_dataset", PipelineParameter("file_ds_param", default_value=files)).as_mount()
    tc = DatasetConsumptionConfig("tabular_dataset", PipelineParameter("tabular_ds_param", default_value=table))
    dl = files.as_named_input("dl").as_download()
    step = PythonScriptStep(name="train", script_name="train.py", source_directory=str(tmp_path / "steps"),
                            arguments=["--files", fc, "--table", tc, "--dl", dl], inputs=[fc, tc, dl])
    return Pipeline(workspace=ws, steps=[step])


def stdout(run) -> str:
    [child] = list(run.get_children())
    return child.get_job_log() if hasattr(child, "get_job_log") else ""


def test_mount_download_and_direct_inputs_reach_the_script(ws, tmp_path):
    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "in/*.csv")).register(ws, "t")
    run = Experiment(ws, "ds").submit(pipeline(ws, tmp_path, table))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    [child] = list(run.get_children())
    out = Path(child.download_file("logs/azureml/stdoutlogs.txt", str(tmp_path / "out.txt")) or tmp_path / "out.txt")
    text = out.read_text()
    assert "files ['p1.csv', 'p2.csv'] True" in text and "table arg is the id True" in text
    assert "rows 3 sum 12" in text and "dl ['p1.csv', 'p2.csv']" in text
    svc = ws._backend.svc
    assert [(u.run_id, u.step_name, u.role) for u in svc.store.list_dataset_uses(dataset_id=table.id)] == [
        (run.id, "train", "input")]


def test_a_version_is_reused_and_new_files_rerun_the_step(ws, tmp_path):
    table = Dataset.Tabular.from_delimited_files((ws.get_default_datastore(), "in/*.csv")).register(ws, "t")
    first = Experiment(ws, "ds").submit(pipeline(ws, tmp_path, table))
    first.wait_for_completion(show_output=False)
    again = Experiment(ws, "ds").submit(pipeline(ws, tmp_path, table))
    again.wait_for_completion(show_output=False)
    [child] = list(again.get_children())
    assert child._record.reused_from is not None  # the same versions: nothing to do
    (tmp_path / "p3.csv").write_text("a,b\n7,8\n")
    ws.get_default_datastore().upload_files([tmp_path / "p3.csv"], target_path="in")
    third = Experiment(ws, "ds").submit(pipeline(ws, tmp_path, table))
    third.wait_for_completion(show_output=False)
    [child] = list(third.get_children())
    assert child._record.reused_from is None  # the file dataset parameter now pins three files


def test_a_changed_file_of_a_pinned_version_fails_the_step_by_name(ws, tmp_path):
    store = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((store, "in/*.csv")).register(ws, "t")
    svc = ws._backend.svc
    published = publishing.publish_pipeline(svc, pipeline(ws, tmp_path, table), name="ds")
    local = Path(store.root_uri.removeprefix("file://")) / "in" / "p1.csv"
    local.write_text("a,b\n9,9\n")
    os.utime(local, ns=(1, 1))
    run = runs.submit_frozen(svc, svc.store.get_pipeline(published.pipeline_id), "ds")
    ws_run = Experiment(ws, "ds")
    from headrace import PipelineRun

    handle = PipelineRun(ws_run, run.id)
    handle.wait_for_completion(show_output=False, raise_on_error=False)
    assert handle.get_status() == "Failed"
    [child] = list(handle.get_children())
    assert "file workspaceblobstore:in/p1.csv changed since this version was registered" in \
        (child._record.error or "")


def test_rest_style_assignments_pick_a_version(ws, tmp_path):
    store = ws.get_default_datastore()
    table = Dataset.Tabular.from_delimited_files((store, "in/*.csv")).register(ws, "t")
    (tmp_path / "p3.csv").write_text("a,b\n7,8\n")
    store.upload_files([tmp_path / "p3.csv"], target_path="in")
    v2 = Dataset.Tabular.from_delimited_files((store, "in/*.csv")).register(ws, "t", create_new_version=True)
    svc = ws._backend.svc
    frozen = runs.freeze_pipeline(svc, pipeline(ws, tmp_path, table))
    by_name = runs.submit_frozen(svc, frozen, "ds", pipeline_parameters={
        "tabular_ds_param": {"DataSetReference": {"Name": "t", "Version": "2"}}})
    assert by_name.parameters["tabular_ds_param"]["id"] == v2.id
    by_id = runs.submit_frozen(svc, frozen, "ds", pipeline_parameters={
        "tabular_ds_param": {"SavedDataSetReference": {"Id": table.id}}})
    assert by_id.parameters["tabular_ds_param"]["version"] == 1
    with pytest.raises(ParameterError, match="'tabular_ds_param'.*versions of 't': 1, 2"):
        runs.submit_frozen(svc, frozen, "ds", pipeline_parameters={
            "tabular_ds_param": {"DataSetReference": {"Name": "t", "Version": "7"}}})
    with pytest.raises(ParameterError, match="SavedDataSetReference"):
        runs.submit_frozen(svc, frozen, "ds", pipeline_parameters={"tabular_ds_param": "t"})


def test_an_input_matching_no_file_is_refused_when_the_pipeline_is_frozen(ws, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        empty = Dataset.File.from_files((ws.get_default_datastore(), "nothing/*.csv"))
    step = PythonScriptStep(name="s", script_name="train.py", source_directory=str(tmp_path / "steps"),
                            inputs=[empty.as_named_input("empty").as_mount()])
    with pytest.raises(DefinitionError, match="dataset input 'empty':.*matches no file"):
        Experiment(ws, "ds").submit(Pipeline(workspace=ws, steps=[step]))


WRITE = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--input"); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
rows = sum(len(open(os.path.join(a.input, f)).read().splitlines()) - 1 for f in sorted(os.listdir(a.input)))
open(os.path.join(a.out, "count.csv"), "w").write(f"rows\\n{rows}\\n")
"""

READ = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--counted"); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
text = open(os.path.join(a.counted, "count.csv")).read()
open(os.path.join(a.out, "doubled.csv"), "w").write("rows\\n" + str(2 * int(text.split()[1])) + "\\n")
"""


def test_outputs_in_arguments_only_chain_and_register_on_complete(ws, tmp_path):
    from headrace import OutputFileDatasetConfig

    (tmp_path / "steps" / "write.py").write_text(WRITE)
    (tmp_path / "steps" / "read.py").write_text(READ)
    store = ws.get_default_datastore()
    source = Dataset.File.from_files((store, "in/*.csv")).as_named_input("raw")
    counted = OutputFileDatasetConfig(name="counted")
    doubled = OutputFileDatasetConfig(name="doubled", destination=(store, "results/{run-id}/{output-name}"))
    doubled = doubled.read_delimited_files().register_on_complete("doubled_rows", description="x2", tags={"k": "v"})
    write = PythonScriptStep(name="write", script_name="write.py", source_directory=str(tmp_path / "steps"),
                             arguments=["--input", source.as_mount(), "--out", counted])
    read = PythonScriptStep(name="read", script_name="read.py", source_directory=str(tmp_path / "steps"),
                            arguments=["--counted", counted.as_input(), "--out", doubled])
    run = Experiment(ws, "outputs").submit(Pipeline(workspace=ws, steps=[read]))  # write is pulled in
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    assert sorted(c.name for c in run.get_children()) == sorted([write.name, read.name])
    version = Dataset.get_by_name(ws, "doubled_rows")
    assert (version.version, version.description, version.tags) == (1, "x2", {"k": "v"})
    assert version.to_pandas_dataframe()["rows"].tolist() == [6]
    assert version._record.created_by_run == run.id
    assert any(f.path == f"results/{run.id}/doubled/doubled.csv" for f in store.list("results"))
    uses = ws._backend.svc.store.list_dataset_uses(dataset_id=version.id)
    assert [(u.run_id, u.step_name, u.role) for u in uses] == [(run.id, "read", "output")]
    again = Experiment(ws, "outputs").submit(Pipeline(workspace=ws, steps=[read]))
    again.wait_for_completion(show_output=False)
    # Both steps are reused: the output is the first run's files, so no second version is made.
    assert Dataset.get_by_name(ws, "doubled_rows").version == 1


def test_a_bad_destination_names_the_output():
    from headrace import OutputFileDatasetConfig

    with pytest.raises(DefinitionError, match="OutputFileDatasetConfig 'o': destination must be a"):
        OutputFileDatasetConfig(name="o", destination="results/here")
