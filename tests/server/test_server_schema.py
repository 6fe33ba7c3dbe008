"""The OpenAPI document and the server agree: what the document calls invalid is refused, what it calls
valid is not refused for its shape; free text is bounded; raw bodies must be sent; 405 names every method."""

from __future__ import annotations

import socket

import httpx
import jsonschema_rs
import pytest

from headrace.schemas import MAX_DESCRIPTION, MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS


@pytest.fixture
def doc(live) -> dict:
    return httpx.get(f"{live.url}/openapi.json", timeout=60).json()


def schema_valid(doc: dict, model: str, body: dict) -> bool:
    root = {**doc, "$ref": f"#/components/schemas/{model}"}
    return jsonschema_rs.Draft202012Validator(root).is_valid(body)


CASES = [
    ({"Tags": {"a": 1, "b": True, "c": 1.5}}, True),
    ({"Tags": {"a": None}}, False),
    ({"Tags": {"a": {"nested": "x"}}}, False),
    ({"ContinueRunOnStepFailure": "yes"}, False),
    ({"ContinueRunOnStepFailure": 1}, False),
    ({"ContinueRunOnStepFailure": True}, True),
    ({"ContinueRunOnStepFailure": "False"}, True),
    ({"Description": "d" * MAX_DESCRIPTION}, True),
    ({"Description": "d" * (MAX_DESCRIPTION + 1)}, False),
    ({"Tags": {f"k{i}": "v" for i in range(MAX_TAGS + 1)}}, False),
    ({"Tags": {"k" * (MAX_TAG_KEY + 1): "v"}}, False),
    ({"Tags": {"k": "v" * (MAX_TAG_VALUE + 1)}}, False),
    ({"RunSource": "r" * 1000}, False),
    ({"ExperimentName": "   "}, False),
    ({"ExperimentName": "e" * 256}, False),
]


@pytest.mark.parametrize("extra, valid", CASES, ids=[str(i) for i in range(len(CASES))])
def test_submission_bodies_schema_and_server_agree(live, published, doc, extra, valid):
    body = {"ExperimentName": "schema", **extra}
    assert schema_valid(doc, "SubmitRequest", body) is valid
    r = live.client("submitter").post(f"/pipelines/{published}/submit", json=body)
    assert (r.status_code == 200) is valid, r.text
    if not valid:
        assert r.status_code == 400, r.text


def test_a_large_description_is_refused_before_it_is_listed(live, published):
    """A 9.9 MB description was stored and sent back in every run listing."""
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": "big", "Description": "x" * 9_900_000})
    assert r.status_code == 400 and r.json()["Error"]["Target"] == "Description"
    assert str(MAX_DESCRIPTION) in r.json()["Error"]["Message"].replace(",", "")
    assert live.svc.store.list_runs(limit=10)[0] == []


def flow_publish(doc: dict) -> dict:
    """``POST /flows`` documents its body inline."""
    return doc["paths"]["/api/v1/flows"]["post"]["requestBody"]["content"]["application/json"]["schema"]


def test_other_request_models_bound_text_and_use_strict_booleans(doc):
    doc["components"]["schemas"]["FlowPublish"] = flow_publish(doc)
    for model in ("RunCreate", "RunPublish", "PublishedPipelineCreate", "PipelineEndpointCreate", "FlowPublish",
                  "ScheduleCreate", "ScheduleUpdate"):
        props = doc["components"]["schemas"][model]["properties"]
        assert schema_valid(doc, model, {"Description": "x" * (MAX_DESCRIPTION + 1)}) is False, model
        assert any(s.get("maxLength") == MAX_DESCRIPTION
                   for s in props["Description"].get("anyOf", [props["Description"]])), model
    assert schema_valid(doc, "EndpointVersionCreate", {"PipelineId": "p", "MakeDefault": "yes"}) is False


def test_name_and_cursor_rules_are_in_the_document(live, doc):
    schemas = doc["components"]["schemas"]
    assert schemas["DatastoreCreate"]["properties"]["Name"]["pattern"] == r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,254}$"
    assert flow_publish(doc)["properties"]["Name"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
    for model, field in (("SubmitRequest", "ExperimentName"), ("PipelineEndpointCreate", "Name"),
                         ("RunPublish", "Name"), ("ScheduleCreate", "Name")):
        prop = schemas[model]["properties"][field]
        assert (prop["maxLength"], prop["pattern"]) == (255, r"\S"), (model, prop)
    params = {p["name"]: p for p in doc["paths"]["/api/v1/runs"]["get"]["parameters"]}
    cursor = params["continuationToken"]["schema"]
    cursor = next(s for s in cursor.get("anyOf", [cursor]) if s.get("type") == "string")
    assert cursor["pattern"] == "^[A-Za-z0-9_-]+$"
    bad = live.client("reader").get("/runs", params={"continuationToken": "not a cursor!"})
    assert bad.status_code == 400 and bad.json()["Error"]["Target"] == "continuationToken"
    # A flow name the document refuses (a trailing newline) is refused by the server too.
    r = live.client("admin").post("/flows", json={"Name": "ask\n", "SnapshotDigest": "0" * 64})
    assert r.status_code == 400 and "invalid flow name" in r.json()["Error"]["Message"], r.text


def test_put_without_a_body_is_refused_not_an_empty_file(live):
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(f"PUT /api/v1/datastores/workspaceblobstore/files/empty.txt HTTP/1.1\r\nHost: {host}\r\n"
                     f"Authorization: Bearer {live.tokens['submitter']}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 411"), answer
    assert b"Content-Length" in answer
    reader = live.client("reader")
    assert reader.get("/datastores/workspaceblobstore/files/empty.txt").status_code == 404
    # An empty file sent as such (Content-Length: 0) is fine.
    r = live.client("submitter").put("/datastores/workspaceblobstore/files/empty.txt", content=b"")
    assert r.status_code == 200 and r.json()["Size"] == 0


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/api/v1/runs", {"GET", "POST"}),
    ("DELETE", "/api/v1/snapshots/abc", {"GET", "HEAD", "PUT"}),
    ("DELETE", "/api/v1/datastores/workspaceblobstore/files/a.txt", {"GET", "PUT"}),
    ("PATCH", "/api/v1/pipelines", {"GET", "POST"}),
    ("POST", "/static/headrace.css", {"GET", "HEAD"}),
])
def test_405_names_every_allowed_method(live, method, path, allowed):
    r = httpx.request(method, f"{live.url}{path}", headers={"Authorization": f"Bearer {live.tokens['admin']}"},
                      timeout=60)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed
    assert r.json()["Error"]["Code"] == "MethodNotAllowed"


def test_a_scalar_query_parameter_given_twice_is_refused(live):
    """The framework kept the last value; the document says one value."""
    reader = live.client("reader")
    r = reader.get("/schedules", params=[("pipelineId", "a"), ("pipelineId", "b")])
    assert r.status_code == 400 and r.json()["Error"]["Target"] == "pipelineId", r.text
    r = reader.get("/runs", params=[("status", "Queued"), ("status", "Running")])  # a list parameter
    assert r.status_code == 200, r.text
