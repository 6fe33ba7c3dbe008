"""Every error case of the REST API: status and the one body shape {"Error": {"Code", "Message", "Target"}}.
FastAPI's 422 format never leaks."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from headrace.services import endpoints, tokens


def error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["Error"] and set(body["Error"]) == {"Code", "Message", "Target"}, body
    assert body["Error"]["Code"] == code, body
    return body["Error"]


@pytest.fixture
def submit(live, published):
    client = live.client("submitter")

    def post(body=None, *, content=None, headers=None, pipeline=published):
        return client.post(f"/pipelines/{pipeline}/submit", json=body, content=content, headers=headers)

    return post


def test_bad_json(submit):
    err = error(submit(content=b'{"ExperimentName": "x",', headers={"Content-Type": "application/json"}),
                400, "BadRequest")
    assert "not valid JSON" in err["Message"]
    assert "JSON object" in error(submit(content=b'["ExperimentName"]'), 400, "BadRequest")["Message"]
    assert "empty" in error(submit(content=b""), 400, "BadRequest")["Message"]
    error(submit(content=b'{"ExperimentName": NaN}'), 400, "BadRequest")


def test_a_lone_surrogate_escape_is_a_bad_request_not_a_stored_value(submit, live):
    """``"\\ud800"`` parses as JSON but is no character: stored, it broke every later listing (a 500)."""
    body = b'{"ExperimentName": "e", "Tags": {"note": "x\\ud800y"}}'
    err = error(submit(content=body), 400, "BadRequest")
    assert "surrogate" in err["Message"] and "\\ud800" in err["Message"]
    assert live.client("submitter").get("/runs").status_code == 200


def test_missing_or_invalid_experiment_name(submit):
    err = error(submit({"ParameterAssignments": {"tag": "x"}}), 400, "BadRequest")
    assert err["Target"] == "ExperimentName" and "ExperimentName" in err["Message"]
    error(submit({"ExperimentName": ""}), 400, "BadRequest")
    error(submit({"ExperimentName": 5}), 400, "BadRequest")


def test_unknown_parameter_lists_the_valid_ones(submit):
    err = error(submit({"ExperimentName": "e", "ParameterAssignments": {"pipeline_argg": 1}}), 400, "UnknownParameter")
    assert err["Target"] == "pipeline_argg"
    for name in ("input_data", "pipeline_arg", "tag", "use_flag", "wait_for"):
        assert name in err["Message"]


def test_wrong_type_names_the_declared_type(submit):
    err = error(submit({"ExperimentName": "e", "ParameterAssignments": {"pipeline_arg": "twenty"}}),
                400, "InvalidParameterType")
    assert err["Target"] == "pipeline_arg" and "int" in err["Message"]
    err = error(submit({"ExperimentName": "e", "ParameterAssignments": {"use_flag": "maybe"}}),
                400, "InvalidParameterType")
    assert "bool" in err["Message"]


def test_unknown_datastore(submit):
    body = {"ExperimentName": "e",
            "DataPathAssignments": {"input_data": {"DataStoreName": "nosuchstore", "RelativePath": "a.csv"}}}
    err = error(submit(body), 400, "UnknownDatastore")
    assert err["Target"] == "input_data" and "nosuchstore" in err["Message"]
    assert "workspaceblobstore" in err["Message"]  # the registered ones are listed


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "a/../../b", "s3://bucket/x"])
def test_relative_path_escaping_the_datastore(submit, path):
    body = {"ExperimentName": "e",
            "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": path}}}
    assert error(submit(body), 400, "PathEscapesDatastore")["Target"] == "input_data"


def test_other_bad_bodies(submit):
    error(submit({"ExperimentName": "e", "Tags": {}, "tags": {}}), 400, "BadRequest")
    error(submit({"ExperimentName": "e", "DataPathAssignments": {"input_data": {"DataStoreName": "x"}}}),
          400, "BadRequest")
    error(submit({"ExperimentName": "e", "DataSetDefinitionValueAssignments": {"d": {"SavedDataSetReference": {}}}}),
          400, "BadRequest")
    both = {"ExperimentName": "e", "ParameterAssignments": {"input_data": "raw/data.csv"},
            "DataPathAssignments": {"input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "x"}}}
    assert error(submit(both), 400, "BadRequest")["Target"] == "input_data"
    assert error(submit({"ExperimentName": "e"}, headers={"Idempotency-Key": "k" * 201}),
                 400, "BadRequest")["Target"] == "Idempotency-Key"


def test_no_bad_revoked_or_wrong_scheme_token_is_401(live, published):
    url = f"{live.url}/api/v1/pipelines/{published}/submit"
    body = {"ExperimentName": "e"}
    r = httpx.post(url, json=body)
    assert error(r, 401, "Unauthorized") and r.headers["WWW-Authenticate"] == "Bearer"
    error(httpx.post(url, json=body, headers={"Authorization": "Bearer hr_not-a-token"}), 401, "Unauthorized")
    error(httpx.post(url, json=body, headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "Unauthorized")
    secret, record = tokens.create_token(live.svc, "submitter", name="short-lived")
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    tokens.revoke_token(live.svc, record.id)
    error(httpx.post(url, json=body, headers={"Authorization": f"Bearer {secret}"}), 401, "Unauthorized")
    error(httpx.get(f"{live.url}/api/v1/runs"), 401, "Unauthorized")
    assert httpx.get(f"{live.url}/api/v1/health").status_code == 200  # no token needed


def test_role_too_low_is_403(live, published):
    err = error(live.client("reader").post(f"/pipelines/{published}/submit", json={"ExperimentName": "e"}),
                403, "Forbidden")
    assert "submitter" in err["Message"]
    error(live.client("submitter").post(f"/pipelines/{published}/disable"), 403, "Forbidden")
    error(live.client("reader").post("/runs/x/cancel"), 403, "Forbidden")
    error(live.client("submitter").post("/datastores", json={"Name": "d", "Path": "d"}), 403, "Forbidden")


def test_unknown_ids_are_404(live, published):
    admin = live.client("admin")
    body = {"ExperimentName": "e"}
    assert error(admin.post("/pipelines/nope/submit", json=body), 404, "NotFound")["Target"] == "nope"
    error(admin.post("/pipeline-endpoints/nope/submit", json=body), 404, "NotFound")
    error(admin.post("/pipeline-endpoints/by-name/nope/submit", json=body), 404, "NotFound")
    error(admin.get("/runs/nope"), 404, "NotFound")
    error(admin.get("/pipelines/nope"), 404, "NotFound")
    error(admin.get("/step-runs/nope"), 404, "NotFound")
    error(admin.get("/experiments/nope"), 404, "NotFound")
    error(admin.get("/datastores/nope"), 404, "NotFound")
    error(admin.get("/no/such/route"), 404, "NotFound")
    ep = endpoints.publish_endpoint(live.svc, name="ep404", published_pipeline_id=published)
    err = error(admin.post(f"/pipeline-endpoints/{ep.id}/submit?pipelineVersion=7", json=body), 404, "NotFound")
    assert "0" in err["Message"]  # the versions there are listed


def test_disabled_pipeline_and_endpoint_are_409(live, published):
    admin = live.client("admin")
    ep = admin.post("/pipeline-endpoints", json={"Name": "ep409", "PipelineId": published}).json()
    assert admin.post(f"/pipeline-endpoints/{ep['Id']}/disable").json()["Status"] == "Disabled"
    err = error(admin.post(f"/pipeline-endpoints/{ep['Id']}/submit", json={"ExperimentName": "e"}), 409, "Disabled")
    assert "ep409" in err["Message"]
    error(admin.post("/pipeline-endpoints/by-name/ep409/submit", json={"ExperimentName": "e"}), 409, "Disabled")
    assert admin.post(f"/pipelines/{published}/disable").json()["Status"] == "Disabled"
    error(admin.post(f"/pipelines/{published}/submit", json={"ExperimentName": "e"}), 409, "Disabled")
    error(admin.post("/pipeline-endpoints", json={"Name": "ep409", "PipelineId": published}), 409, "AlreadyExists")


def test_oversized_body_is_413(live, published):
    client = live.client("submitter")
    big = b'{"ExperimentName": "e", "Description": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    error(client.post(f"/pipelines/{published}/submit", content=big), 413, "PayloadTooLarge")

    def chunks():  # no Content-Length: the streamed size is counted
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    error(client.post(f"/pipelines/{published}/submit", content=chunks()), 413, "PayloadTooLarge")


def test_lying_content_length_header_is_413(live, published):
    # A declared length over the limit is refused before anything is read.
    with socket.create_connection(("127.0.0.1", int(live.url.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(f"POST /api/v1/pipelines/{published}/submit HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {live.tokens['submitter']}\r\nContent-Length: 999999999\r\n\r\n"
                     .encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")


def test_validation_and_routing_errors_keep_the_shape(live):
    reader = live.client("reader")
    assert error(reader.get("/runs", params={"limit": "abc"}), 400, "BadRequest")["Target"] == "limit"
    error(reader.get("/runs", params={"limit": 0}), 400, "BadRequest")
    error(reader.get("/runs", params={"status": "Sleeping"}), 400, "BadRequest")
    error(reader.get("/runs", params={"continuationToken": "garbage"}), 400, "BadRequest")
    error(reader.get("/runs/x/steps/y/logs", params={"log": "nope"}), 400, "BadRequest")
    error(reader.delete("/runs"), 405, "MethodNotAllowed")


def test_unexpected_failure_is_500_and_logged(live, monkeypatch, caplog):
    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(live.svc.store, "list_experiments", broken)
    with caplog.at_level(logging.ERROR, logger="headrace.server.errors"):
        err = error(live.client("reader").get("/experiments"), 500, "InternalError")
    assert "disk on fire" not in err["Message"]
    assert any("disk on fire" in (r.exc_text or "") or r.exc_info for r in caplog.records)
