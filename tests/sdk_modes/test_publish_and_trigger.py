"""Publish and trigger: published pipelines and versioned endpoints, embedded and remote alike."""

from __future__ import annotations

import pytest

from headrace import PipelineEndpoint, PipelineRun, PublishedPipeline
from headrace.errors import (
    AlreadyExistsError,
    ConflictError,
    DisabledError,
    NotFoundError,
    UnknownParameterError,
)

from .scripts import contract_pipeline, upload_csv


@pytest.fixture
def pipeline(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    return contract_pipeline(ws, scripts)


def _prep_stdout(run: PipelineRun) -> str:
    assert run.wait_for_completion(show_output=False) == "Finished"
    return run.find_step_run("prep")[0].get_stdout_log()


def test_published_pipeline_lifecycle(ws, pipeline):
    published = pipeline.publish(name="My_Published_Pipeline", description="the contract example", version="1.0")
    assert (published.name, published.description, published.version, published.status) == (
        "My_Published_Pipeline", "the contract example", "1.0", "Active")
    assert published.endpoint.endswith(f"/api/v1/pipelines/{published.id}/submit")
    assert published.endpoint.startswith("http")
    assert published.parameters["pipeline_arg"] == {"type": "int", "default": 10}
    assert published.get_step_names() == ["prep", "train"]

    got = PublishedPipeline.get(ws, id=published.id)
    assert (got.id, got.name, got.version, got.endpoint) == (published.id, published.name, "1.0", published.endpoint)
    assert [p.id for p in PublishedPipeline.list(ws)] == [published.id]

    run = published.submit(ws, experiment_name="Exp", pipeline_parameters={"pipeline_arg": 30})
    assert run.experiment.name == "Exp"
    assert "n=30" in _prep_stdout(run)
    assert run._record.published_pipeline_id == published.id
    with pytest.raises(UnknownParameterError, match="valid parameters: input_data, pipeline_arg"):
        published.submit(ws, experiment_name="Exp", pipeline_parameters={"nope": 1})

    published.disable()
    assert published.status == "Disabled"
    assert PublishedPipeline.list(ws, active_only=True) == []
    assert [p.id for p in PublishedPipeline.list(ws, active_only=False)] == [published.id]
    with pytest.raises(ConflictError, match="disabled") as info:
        published.submit(ws, experiment_name="Exp")
    assert isinstance(info.value, DisabledError)
    published.enable()
    assert PublishedPipeline.get(ws, published.id).status == "Active"
    assert published.submit(ws, experiment_name="Exp").wait_for_completion(show_output=False) == "Finished"

    from_run = run.publish_pipeline(name="From_Run", version="1.1")
    assert from_run.graph_id == published.graph_id and from_run.id != published.id
    with pytest.raises(NotFoundError):
        PublishedPipeline.get(ws, "nope")


def test_pipeline_endpoint_versions_and_archive(ws, pipeline):
    published = pipeline.publish(name="v1", version="1.0")
    ep = PipelineEndpoint.publish(workspace=ws, name="PipelineEndpointTest", pipeline=published,
                                  description="versioned")
    assert (ep.name, ep.description, ep.default_version, ep.status) == ("PipelineEndpointTest", "versioned", "0",
                                                                        "Active")
    assert ep.endpoint.endswith(f"/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{ep.id}")
    with pytest.raises(AlreadyExistsError, match="PipelineEndpointTest"):
        PipelineEndpoint.publish(workspace=ws, name="PipelineEndpointTest", pipeline=published, description="")

    published_v2 = pipeline.publish(name="v2", version="2.0")
    ep.add_default(published_v2)
    assert ep.get_default_version() == "1"
    assert [(v.version, v.pipeline.id) for v in ep.list_versions()] == [("0", published.id), ("1", published_v2.id)]
    ep.set_default_version("0")
    assert ep.get_default_version() == "0"
    with pytest.raises(NotFoundError, match="versions of endpoint 'PipelineEndpointTest': 0, 1"):
        ep.set_default_version("7")
    ep.add(pipeline)  # a Pipeline is published first
    assert [v.version for v in ep.list_versions()] == ["0", "1", "2"] and ep.get_default_version() == "0"
    assert ep.get_pipeline("1").id == published_v2.id

    run = ep.submit("Exp", pipeline_parameters={"pipeline_arg": 5}, pipeline_version="1")
    assert "n=5" in _prep_stdout(run)
    assert (run._record.pipeline_endpoint_id, run._record.pipeline_endpoint_version) == (ep.id, "1")
    assert run._record.published_pipeline_id == published_v2.id
    default_run = ep.submit("Exp")
    assert default_run._record.pipeline_endpoint_version == "0"
    assert default_run.wait_for_completion(show_output=False) == "Finished"

    by_name = PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
    assert (by_name.id, by_name.endpoint) == (ep.id, ep.endpoint)
    assert [e.id for e in PipelineEndpoint.list(ws)] == [ep.id]

    ep.disable()
    with pytest.raises(ConflictError, match="disabled"):
        ep.submit("Exp")
    ep.enable()

    ep.archive()
    with pytest.raises(NotFoundError):
        PipelineEndpoint.get(workspace=ws, name="PipelineEndpointTest")
    again = PipelineEndpoint.publish(workspace=ws, name="PipelineEndpointTest", pipeline=published_v2,
                                     description="reborn")
    assert again.id != ep.id and again.get_default_version() == "0"
    assert PipelineEndpoint.get(workspace=ws, id=ep.id).status == "Disabled"
    with pytest.raises(NotFoundError):
        PipelineEndpoint.get(workspace=ws, id="nope")


def test_endpoint_rename_get_all_and_reactivate(ws, pipeline):
    published = pipeline.publish(name="v1")
    ep = PipelineEndpoint.publish(workspace=ws, name="Before", pipeline=published, description=None)
    other = PipelineEndpoint.publish(workspace=ws, name="Other", pipeline=published, description=None)
    url = ep.endpoint
    ep.set_name(name="NewName")
    assert ep.name == "NewName" and ep.endpoint == url  # the id and its URL stay
    assert PipelineEndpoint.get(workspace=ws, name="NewName").id == ep.id
    with pytest.raises(NotFoundError):
        PipelineEndpoint.get(workspace=ws, name="Before")
    with pytest.raises(AlreadyExistsError, match="Other"):
        ep.set_name("Other")
    with pytest.warns(DeprecationWarning, match="PipelineEndpoint.list"):
        assert {e.name for e in PipelineEndpoint.get_all(ws)} == {"NewName", "Other"}
    assert [v.version for v in ep.get_all_versions()] == ["0"]
    assert [p.id for p in ep.get_all_pipelines()] == [published.id]

    other.archive()
    assert other.status == "Disabled" and other.name != "Other"
    assert other.reactivate(name="Other") is other
    assert (other.status, PipelineEndpoint.get(workspace=ws, name="Other").id) == ("Active", other.id)
