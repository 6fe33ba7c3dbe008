"""Azure ML's REST URL shapes for pipeline endpoints and published pipelines, built the way Azure ML's
samples build them from ``PipelineEndpoint.endpoint``, reach the right version; and the header of
``InteractiveLoginAuthentication`` is accepted."""

from __future__ import annotations

import httpx
import pytest

from headrace import InteractiveLoginAuthentication, PipelineEndpoint, Workspace
from headrace.errors import ConfigError
from headrace.services import endpoints, publishing


@pytest.fixture
def endpoint(live, echo_pipeline) -> PipelineEndpoint:
    v0 = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=100), name="echo", version="a").id
    v1 = publishing.publish_pipeline(live.svc, echo_pipeline(default_n=111), name="echo", version="b").id
    ep = endpoints.publish_endpoint(live.svc, name="AzureShapes", published_pipeline_id=v0)
    endpoints.add_version(live.svc, ep.id, v1, make_default=True)
    ws = Workspace(url=live.url, token=live.tokens["admin"])
    return PipelineEndpoint.get(workspace=ws, id=ep.id)


def _submit(url: str, header: dict[str, str], tag: str) -> dict:
    r = httpx.post(url, headers=header, json={"ExperimentName": "shapes", "RunSource": "SDK",
                                              "ParameterAssignments": {"tag": tag}})
    assert r.status_code == 200, r.text
    return r.json()


def test_endpoint_urls_in_azure_shapes_reach_the_right_version(live, endpoint):
    url = endpoint.endpoint
    assert url == f"{live.url}/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint.id}"
    header = InteractiveLoginAuthentication(workspace=endpoint.workspace).get_authentication_header()
    by_name = url.split("Id", 1)[0] + "Name?name=" + endpoint.name

    runs = {
        "default": _submit(url, header, "az-default"),
        "id-version": _submit(url + "/0", header, "az-id-v0"),
        "name-default": _submit(by_name, header, "az-name"),
        "name-version": _submit(by_name + "&pipelineVersion=0", header, "az-name-v0"),
        "query-version": _submit(url + "?pipelineVersion=0", header, "az-query-v0"),
    }
    assert {k: r["PipelineEndpointVersion"] for k, r in runs.items()} == {
        "default": "1", "id-version": "0", "name-default": "1", "name-version": "0", "query-version": "0"}
    for run in runs.values():
        assert live.wait_run(run["Id"])["Status"] == "Finished"
    assert live.seen("az-id-v0")["n"] == 100 and live.seen("az-name")["n"] == 111

    both = httpx.post(url + "/0?pipelineVersion=1", headers=header, json={"ExperimentName": "shapes"})
    assert both.status_code == 400 and "two versions" in both.json()["Error"]["Message"]
    missing = httpx.post(url + "/7", headers=header, json={"ExperimentName": "shapes"})
    assert missing.status_code == 404 and "7" in missing.json()["Error"]["Message"]
    unknown = httpx.post(url.split("Id", 1)[0] + "Name?name=nope", headers=header, json={"ExperimentName": "x"})
    assert unknown.status_code == 404
    assert httpx.post(url, json={"ExperimentName": "shapes"}).status_code == 401


def test_renamed_endpoint_is_reached_by_its_new_name(live, endpoint):
    endpoint.set_name(name="NewName")
    base = endpoint.endpoint.split("Id", 1)[0]
    header = {"Authorization": f"Bearer {live.tokens['submitter']}"}
    run = _submit(base + "Name?name=NewName&pipelineVersion=1", header, "renamed")
    assert run["PipelineEndpointId"] == endpoint.id
    old = httpx.post(base + "Name?name=AzureShapes", headers=header, json={"ExperimentName": "x"})
    assert old.status_code == 404
    assert live.wait_run(run["Id"])["Status"] == "Finished"


def test_published_pipeline_azure_path(live, published):
    header = {"Authorization": f"Bearer {live.tokens['submitter']}"}
    run = _submit(f"{live.url}/api/v1/PipelineRuns/PipelineSubmit/{published}", header, "az-published")
    assert run["PipelineId"] == published
    assert live.wait_run(run["Id"])["Status"] == "Finished"


def test_authentication_header_sources(live, tmp_path, monkeypatch):
    monkeypatch.delenv("HEADRACE_TOKEN", raising=False)
    monkeypatch.delenv("HEADRACE_URL", raising=False)
    monkeypatch.delenv("HEADRACE_HOME", raising=False)
    remote = Workspace(url=live.url, token=live.tokens["reader"])
    assert InteractiveLoginAuthentication(workspace=remote).get_authentication_header() == {
        "Authorization": f"Bearer {live.tokens['reader']}"}

    home = tmp_path / "proj" / ".headrace"
    home.mkdir(parents=True)
    (home / "config.json").write_text('{"token": "from-the-home"}')
    monkeypatch.chdir(tmp_path / "proj")
    assert InteractiveLoginAuthentication().get_token() == "from-the-home"  # the local home's admin token
    monkeypatch.setenv("HEADRACE_TOKEN", "from-env")
    assert InteractiveLoginAuthentication(force=True, tenant_id="t").get_token() == "from-env"

    monkeypatch.delenv("HEADRACE_TOKEN")
    (home / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="HEADRACE_TOKEN"):
        InteractiveLoginAuthentication().get_authentication_header()
