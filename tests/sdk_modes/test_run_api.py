"""Azure ML's Run read API on pipeline and step runs, and Experiment.submit of published pipelines
and endpoints, embedded and remote alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import Experiment, PipelineEndpoint, PipelineRun, StepRun
from headrace.errors import ConfigError, NotFoundError

from .scripts import contract_pipeline, upload_csv


@pytest.fixture
def pipeline(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    return contract_pipeline(ws, scripts)


def test_run_details_tags_properties_and_children(ws, pipeline):
    run = Experiment(ws, "details").submit(pipeline, tags={"team": "a"})
    assert run.wait_for_completion(show_output=False) == "Finished"

    again = PipelineRun(ws.experiments["details"], run.id)  # Azure ML's constructor
    assert again.get_tags() == {"team": "a"}
    assert again.get_properties() == {}
    details = again.get_details()
    assert details["runId"] == run.id and details["status"] == "Finished"
    assert details["startTimeUtc"].endswith("Z") and details["endTimeUtc"] >= details["startTimeUtc"]
    assert details["inputDatasets"] == [] and isinstance(details["properties"], dict)
    assert details["parameters"]["pipeline_arg"] == 10 and "warnings" not in details

    children = again.get_children()
    assert [c.name for c in children] == ["prep", "train"] == [s.name for s in again.get_steps()]
    assert all(isinstance(c, StepRun) and c.get_status() == "Finished" for c in children)
    assert again.get_children(status="Failed") == []
    assert [c.name for c in again.get_children(type="azureml.StepRun")] == ["prep", "train"]
    assert again.get_children(tags="nope") == []


def test_step_run_files_and_job_log(ws, pipeline, tmp_path):
    run = Experiment(ws, "files").submit(pipeline)
    assert run.wait_for_completion(show_output=False) == "Finished"
    prep = run.find_step_run("prep")[0]
    names = prep.get_file_names()
    assert names == ["logs/azureml/stdoutlogs.txt", "logs/azureml/stderrlogs.txt", "logs/azureml/executionlogs.txt"]
    assert set(prep.get_details()["logFiles"]) == set(names)
    assert prep.get_details()["endTimeUtc"].endswith("Z")

    out = prep.download_file("logs/azureml/stdoutlogs.txt", str(tmp_path / "got" / "out.txt"))
    assert "prep read 2 rows" in Path(out).read_text()
    into_dir = prep.download_file("logs/azureml/stderrlogs.txt", str(tmp_path))
    assert into_dir == str(tmp_path / "stderrlogs.txt") and "a warning on stderr" in Path(into_dir).read_text()
    assert prep.get_job_log() == prep.get_execution_log() != ""
    with pytest.raises(NotFoundError, match="logs/azureml/stdoutlogs.txt"):
        prep.download_file("nope.txt", str(tmp_path / "x"))
    assert run.get_file_names() == []
    assert prep.get_output_data("prepared").download(tmp_path / "dl").endswith("prepared")


def test_experiment_submits_published_pipelines_and_endpoints(ws, pipeline):
    published = pipeline.publish(name="p", continue_on_step_failure=True)
    ep = PipelineEndpoint.publish(workspace=ws, name="ep", pipeline=published, description=None)
    ep.add(pipeline.publish(name="p2"))
    exp = Experiment(ws, "via-experiment")

    run = exp.submit(published, pipeline_parameters={"pipeline_arg": 3}, tags={"k": "v"})
    assert run.experiment.name == "via-experiment" and run.get_tags() == {"k": "v"}
    assert run._record.continue_on_step_failure is True  # the published setting when not given
    pinned = exp.submit(ep, tags={"endpoint_tag": "1"}, pipeline_version="1")
    assert pinned._record.pipeline_endpoint_version == "1" and pinned.get_tags() == {"endpoint_tag": "1"}
    default = exp.submit(ep)
    assert default._record.pipeline_endpoint_version == "0"
    for r in (run, pinned, default):
        assert r.wait_for_completion(show_output=False) == "Finished"

    with pytest.raises(ConfigError, match="pipeline_version"):
        exp.submit(published, pipeline_version="0")
    with pytest.raises(ConfigError, match="regenerate_outputs"):
        exp.submit(ep, regenerate_outputs=True)
