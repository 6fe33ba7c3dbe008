"""Pipeline drafts through the SDK, embedded and remote alike: create, list by tags, get, update with a
new pipeline, submit_run, publish, clone and delete."""

from __future__ import annotations

import pytest

from headrace import Experiment, PipelineDraft, PipelineRun, PublishedPipeline
from headrace.errors import ConfigError, NotFoundError, UnknownParameterError

from .scripts import contract_pipeline, one_step, upload_csv


@pytest.fixture
def pipeline(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    return contract_pipeline(ws, scripts)


def test_draft_lifecycle(ws, pipeline, scripts):
    draft = PipelineDraft.create(ws, name="TestPipelineDraft", description="draft description",
                                 experiment_name="pipeline_draft_sample", pipeline=pipeline,
                                 pipeline_parameters={"pipeline_arg": 7}, continue_on_step_failure=True,
                                 tags={"dev": "true"}, properties={"train": "value"})
    assert (draft.name, draft.description, draft.experiment_name, draft.tags, draft.properties) == (
        "TestPipelineDraft", "draft description", "pipeline_draft_sample", {"dev": "true"}, {"train": "value"})
    assert draft.pipeline_parameters == {"pipeline_arg": 7} and draft.last_submitted_pipeline_run_id is None
    PipelineDraft.create(ws, name="other", experiment_name="e", pipeline=pipeline, tags={"dev": "false"})
    assert [d.id for d in PipelineDraft.list(ws, tags={"dev": "true"})] == [draft.id]
    assert len(PipelineDraft.list(ws)) == 2
    assert "TestPipelineDraft" in repr(draft)

    got = PipelineDraft.get(ws, id=draft.id)
    with pytest.raises(UnknownParameterError, match="pipeline_arg"):  # kept values must fit the new pipeline
        got.update(pipeline=one_step(ws, scripts, "train.py", "--data", "."))
    got.update(name="UpdatedPipelineDraft", description="has updated train step",
               pipeline=one_step(ws, scripts, "train.py", "--data", "."), pipeline_parameters={})
    assert (got.name, got.description, got.pipeline_parameters, got.graph_id != draft.graph_id) == (
        "UpdatedPipelineDraft", "has updated train step", {}, True)
    got.update(pipeline=pipeline, pipeline_parameters={"pipeline_arg": 7})

    run = got.submit_run()
    assert isinstance(run, PipelineRun) and run.experiment.name == "pipeline_draft_sample"
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert "n=7" in run.find_step_run("prep")[0].get_stdout_log()
    assert run.get_properties()["headrace.pipelineDraftId"] == draft.id
    assert run._record.continue_on_step_failure is True
    assert PipelineDraft.get(ws, draft.id).last_submitted_pipeline_run_id == run.id

    published = got.publish()
    assert isinstance(published, PublishedPipeline) and published.name == "UpdatedPipelineDraft"
    assert published.graph_id == got.graph_id and published.continue_on_step_failure is True

    got.delete()
    with pytest.raises(NotFoundError, match="pipeline draft"):
        PipelineDraft.get(ws, draft.id)
    assert PublishedPipeline.get(ws, published.id).status == "Active"  # what it published stays


def test_clones_and_bad_input(ws, pipeline):
    run = Experiment(ws, "source").submit(pipeline, pipeline_parameters={"pipeline_arg": 4})
    from_run = PipelineDraft.create(ws, pipeline=run)
    assert (from_run.parent_pipeline_run_id, from_run.experiment_name) == (run.id, "source")
    assert from_run.pipeline_parameters["pipeline_arg"] == 4
    published = pipeline.publish(name="to-clone")
    from_published = PipelineDraft.create(ws, pipeline=published)
    assert (from_published.parent_pipeline_id, from_published.name) == (published.id, "to-clone")
    from_draft = PipelineDraft.create(ws, pipeline=from_run)
    assert from_draft.parent_pipeline_draft_id == from_run.id and from_draft.graph_id == from_run.graph_id
    assert run.wait_for_completion(show_output=False) == "Finished"

    with pytest.raises(ConfigError, match="experiment_name"):
        PipelineDraft.create(ws, pipeline=pipeline, name="x")
    with pytest.raises(ConfigError, match="PipelineDraft"):
        PipelineDraft.create(ws, pipeline="not a pipeline", name="x", experiment_name="e")
    with pytest.raises(UnknownParameterError, match="nope"):
        PipelineDraft.create(ws, pipeline=pipeline, name="x", experiment_name="e", pipeline_parameters={"nope": 1})
    with pytest.raises(NotFoundError):
        PipelineDraft.get(ws, "nope")
