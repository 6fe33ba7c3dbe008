"""HeadraceClient without a server (``httpx.MockTransport``): error bodies back to the server's classes,
retries, and never an httpx exception."""

from __future__ import annotations

import httpx
import pytest

from headrace.client import HeadraceClient
from headrace.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    AuthError,
    ConfigError,
    ConflictError,
    DatastoreError,
    DefinitionError,
    DisabledError,
    NotFoundError,
    ParameterError,
    ParameterTypeError,
    PathEscapeError,
    RemoteError,
    ServerUnavailableError,
    UnknownParameterError,
)


def _client(handler, **kwargs) -> HeadraceClient:
    return HeadraceClient("http://server:8765", "hr_t", transport=httpx.MockTransport(handler), **kwargs)


def _answer(status: int, code: str, message: str, target: str | None = None):
    return lambda request: httpx.Response(status, json={"Error": {"Code": code, "Message": message, "Target": target}})


@pytest.mark.parametrize(("status", "code", "target", "cls"), [
    (400, "UnknownParameter", "nope", UnknownParameterError),
    (400, "InvalidParameterType", "n", ParameterTypeError),
    (400, "InvalidParameter", "n", ParameterError),
    (400, "UnknownDatastore", "input_data", ParameterError),
    (400, "PathEscapesDatastore", "input_data", ParameterError),
    (400, "PathEscapesDatastore", None, PathEscapeError),
    (400, "DatastoreError", None, DatastoreError),
    (400, "BadRequest", "ExperimentName", ConfigError),
    (404, "NotFound", "abc", NotFoundError),
    (409, "Disabled", None, DisabledError),
    (409, "AlreadyExists", "ep", AlreadyExistsError),
    (409, "Conflict", None, ConflictError),
    (409, "SomethingNew", None, ConflictError),  # an unknown code falls back on the status
])
def test_codes_map_to_the_server_classes_and_keep_the_message(status, code, target, cls):
    with _client(_answer(status, code, "the server's words", target)) as client, pytest.raises(cls) as info:
        client.get_run("abc")
    assert type(info.value) is cls
    assert str(info.value) == "the server's words"
    if issubclass(cls, ParameterError):
        assert info.value.parameter == target


def test_not_found_and_already_exists_carry_kind_and_key():
    with _client(_answer(404, "NotFound", "run 'abc' not found", "abc")) as client:
        with pytest.raises(NotFoundError) as info:
            client.get_run("abc")
    assert (info.value.kind, info.value.key, str(info.value)) == ("run", "abc", "run 'abc' not found")
    message = "pipeline endpoint 'ep' already exists; archive() it"
    with _client(_answer(409, "AlreadyExists", message, "ep")) as client:
        with pytest.raises(AlreadyExistsError) as exists:
            client.get_run("abc")
    assert (exists.value.kind, exists.value.key, str(exists.value)) == ("pipeline endpoint", "ep", message)


def test_definition_errors_keep_every_problem():
    message = "the pipeline is invalid (2 problem(s)):\n  - step 'a': no script\n  - step 'b': cycle"
    with _client(_answer(400, "InvalidPipeline", message)) as client, pytest.raises(DefinitionError) as info:
        client.create_graph({"format": 1})
    assert info.value.problems == ["step 'a': no script", "step 'b': cycle"]
    assert str(info.value) == message


def test_auth_errors_name_the_server_and_the_fix():
    with _client(_answer(401, "Unauthorized", "unknown or revoked token")) as client, pytest.raises(AuthError) as info:
        client.list_experiments()
    assert "unknown or revoked token" in str(info.value) and "http://server:8765" in str(info.value)
    assert (info.value.status, info.value.code) == (401, "Unauthorized")
    with _client(_answer(403, "Forbidden", "needs the admin role")) as client, pytest.raises(AccessDeniedError):
        client.list_experiments()


def test_answers_without_an_error_body_fall_back_on_the_status():
    with _client(lambda r: httpx.Response(502, text="<html>Bad Gateway</html>")) as client:
        with pytest.raises(RemoteError, match="HTTP 502: <html>Bad Gateway</html>") as info:
            client.list_experiments()
    assert info.value.status == 502 and type(info.value) is RemoteError
    with _client(lambda r: httpx.Response(401)) as client, pytest.raises(AuthError):
        client.has_snapshot("0" * 64)
    with _client(lambda r: httpx.Response(404)) as client:
        assert client.has_snapshot("0" * 64) is False
    with _client(lambda r: httpx.Response(500, json={"Error": {"Code": "InternalError", "Message": "see the log"}})) \
            as client, pytest.raises(RemoteError, match="InternalError"):
        client.list_experiments()


def test_a_body_that_is_not_the_expected_model_is_a_remote_error():
    with _client(lambda r: httpx.Response(200, json={"unexpected": True})) as client:
        with pytest.raises(RemoteError, match="not a RunRead"):
            client.get_run("abc")


def test_connection_failures_are_retried_then_reported(monkeypatch):
    monkeypatch.setattr("headrace.client.session.time.sleep", lambda s: None)
    calls = []

    def refuse(request):
        calls.append(request.method)
        raise httpx.ConnectError("connection refused", request=request)

    with _client(refuse, retries=2) as client, pytest.raises(ServerUnavailableError) as info:
        client.cancel_run("abc")  # a POST: retried too, since it was never sent
    assert calls == ["POST"] * 3
    assert "http://server:8765" in str(info.value) and "headrace server" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_a_request_that_may_have_arrived_is_retried_only_when_repeating_is_harmless(monkeypatch):
    monkeypatch.setattr("headrace.client.session.time.sleep", lambda s: None)
    calls = []

    def drop(request):
        calls.append((request.method, request.url.path, request.headers.get("Idempotency-Key")))
        raise httpx.ReadError("connection reset", request=request)

    with _client(drop, retries=1) as client:
        with pytest.raises(ServerUnavailableError):
            client.publish_graph(_publish_body())  # not idempotent: one attempt
        assert len(calls) == 1
        calls.clear()
        with pytest.raises(ServerUnavailableError):
            client.submit_pipeline("p1", _submit_body())  # the Idempotency-Key makes a repeat safe
        assert len(calls) == 2 and calls[0][2] and calls[0][2] == calls[1][2]
        calls.clear()
        with pytest.raises(ServerUnavailableError):
            client.get_run("abc")
        assert len(calls) == 2


def test_urls_are_normalised_and_validated():
    assert HeadraceClient("http://h:1/api/v1/").url == "http://h:1"
    with pytest.raises(ConfigError, match="invalid server URL"):
        HeadraceClient("h:1")


def test_names_are_escaped_in_paths():
    seen = []

    def record(request):
        seen.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"Error": {"Code": "NotFound", "Message": "x", "Target": None}})

    with _client(record) as client:
        for call in (lambda: client.get_endpoint_by_name("a b/c"), lambda: client.get_experiment("x?y"),
                     lambda: client.read_file("ds", "dir/a b.csv")):
            with pytest.raises(NotFoundError):
                call()
    assert seen == ["/api/v1/pipeline-endpoints/by-name/a%20b%2Fc", "/api/v1/experiments/x%3Fy",
                    "/api/v1/datastores/ds/files/dir/a%20b.csv"]


def _publish_body():
    from headrace.schemas import PublishedPipelineCreate

    return PublishedPipelineCreate(GraphId="g", Name="n")


def _submit_body():
    from headrace.schemas import SubmitRequest

    return SubmitRequest(ExperimentName="e")
