"""Bounded schemathesis run against /openapi.json, in-process (ASGI), with an admin token: no 5xx, and
every response matches the documented schema.

``POST /datastores`` is left out: it registers (and creates) a folder at any path it is given, which a
fuzzer must not do on the test machine; its behaviour is covered in ``test_server_routes.py``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    unsupported_method,
)

from headrace import ScheduleRecurrence
from headrace.server.app import create_app
from headrace.services import datasets, endpoints, publishing, runs, schedules, tokens

# Examples per operation and check (derandomized, so a run is repeatable). 316 operations x 2 checks are
# the suite's largest cost; HEADRACE_TEST_FUZZ_EXAMPLES=100 fuzzes deeper by hand.
FUZZ_EXAMPLES = int(os.environ.get("HEADRACE_TEST_FUZZ_EXAMPLES", "10"))


@pytest.fixture
def fuzz_app(tmp_path: Path, make_services, echo_pipeline) -> Iterator[tuple]:
    """(app, admin token, ids of real objects) over a home with a published pipeline, an endpoint, a run and
    a schedule."""
    svc = make_services(tmp_path / "fuzz-home")
    published = publishing.publish_pipeline(svc, echo_pipeline(), name="fuzz")
    ep = endpoints.publish_endpoint(svc, name="fuzz-ep", published_pipeline_id=published.id)
    run = runs.submit_frozen(svc, svc.store.get_pipeline(published.pipeline_id), "fuzz")  # stays Queued: no agent
    schedule = schedules.create_schedule(svc, name="fuzz-every", experiment_name="fuzz", published_pipeline_id=published.id,
                                         recurrence=ScheduleRecurrence("Minute", 15))
    svc.make_datastore(svc.store.get_datastore("workspaceblobstore")).write_bytes("fuzz/a.csv", b"a\n1\n")
    dataset = datasets.register(svc, {"kind": "file", "sources": [{"datastore": "workspaceblobstore",
                                                                    "path": "fuzz"}]}, name="fuzzset")
    ids = {"pipeline_id": published.id, "endpoint_id": ep.id, "run_id": run.id, "step": "echo",
           "step_run_id": svc.store.list_step_runs(run.id)[0].id, "schedule_id": schedule.id,
           "dataset_id": dataset.id}
    secret, _ = tokens.create_token(svc, "admin")
    yield create_app(svc, auth=True), secret, ids
    svc.store.close()


_DOC: dict = {}


def _schema(app):
    """The app's OpenAPI document, read once: it is the same for every test, and building it and loading
    it through the app cost 0.4-0.7 s per test (the largest part of the fuzz's time)."""
    if not _DOC:
        _DOC.update(app.openapi())
    schema = schemathesis.openapi.from_dict(copy.deepcopy(_DOC))
    schema.app = app
    schema.location = "/openapi.json"
    return schema


def _real_ids(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Path parameters naming real objects, so generated bodies reach the services' checks."""
    names = {"/api/v1/experiments": "fuzz", "/api/v1/datastores": "workspaceblobstore", "/api/v1/datasets": "fuzzset",
             "/api/v1/pipeline-endpoints/by-name": "fuzz-ep", "/api/v1/computes": "local"}
    found = {k: v for k, v in ids.items() if "{" + k + "}" in path}
    if "{name}" in path:
        found["name"] = next((v for prefix, v in names.items() if path.startswith(prefix)), "fuzz")
    return found


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from an app that serves nothing."""
    doc = create_app(None).openapi()  # type: ignore[arg-type] - building the document needs no services
    found = [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops]
    # Registering datastores reaches out to folders and hosts the fuzzer names; deleting one removes the
    # fixture's: both are covered by their own tests.
    # A webhook's URL is resolved (DNS) at creation: the fuzzer's hosts must not be looked up; tests/events covers it.
    skip = {("POST", "/api/v1/datastores"), ("POST", "/api/v1/datastores/cloud"), ("DELETE", "/api/v1/datastores/{name}"),
            ("POST", "/api/v1/webhooks")}
    return [op for op in found if op not in skip]


@pytest.mark.parametrize("method, path", _operations(), ids=[f"{m} {p}" for m, p in _operations()])
def test_api_fuzz(fuzz_app, method, path):
    app, secret, ids = fuzz_app
    operation = _schema(app)[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=_real_ids(path, ids)),
    )

    @given(cases)
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"},
                               checks=[not_a_server_error, response_schema_conformance])

    check()


def _with_inputs() -> list[tuple[str, str]]:
    """The operations with parameters or a body (the others have nothing a negative case could break)."""
    doc = create_app(None).openapi()  # type: ignore[arg-type]
    return [(m, p) for m, p in _operations()
            if doc["paths"][p][m.lower()].get("parameters") or doc["paths"][p][m.lower()].get("requestBody")]


@pytest.mark.parametrize("method, path", _with_inputs(), ids=[f"{m} {p}" for m, p in _with_inputs()])
def test_server_agrees_with_its_schema(fuzz_app, method, path):
    """What the schema forbids is refused (4xx), and a 405 names the allowed methods (``Allow``): a body the
    document calls invalid was once stored (``Tags: {"a": 1}``, ``ContinueRunOnStepFailure: "yes"``)."""
    app, secret, ids = fuzz_app
    schema = _schema(app)
    schema.config.generation.update(allow_extra_parameters=False)  # unknown query keys are ignored, as is usual
    operation = schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.NEGATIVE),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=_real_ids(path, ids)),
    )

    @given(cases)
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"},
                               checks=[not_a_server_error, negative_data_rejection, unsupported_method])

    check()
