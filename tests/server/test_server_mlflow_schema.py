"""MLflow's wire API answers inside its documented schemas: every error under ``/api/2.0/`` has MLflow's
body ``{"error_code", "message"}`` (the ``mlflow`` client parses nothing else), whatever raised it, and the
document names the request and answer models (the schema fuzz in ``test_server_fuzz.py`` checks them).

Regression: query validation, routing (405) and size errors answered Azure ML's ``{"Error": ...}`` there,
the document promised that body for every error, and the request bodies' references dangled.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import httpx
import pytest

from headrace.schemas import mlflow as m
from headrace.server.app import create_app
from headrace.services import mlflow_tracking, tokens

BASE = "/api/2.0/mlflow"


def mlflow_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    return body["message"]


@pytest.fixture
def serve(tmp_path: Path, make_services, serve_app):
    """``serve(**create_app options)``: an httpx client with an admin token on a real server of those options."""
    svc = make_services(tmp_path / "home")
    secret, _ = tokens.create_token(svc, "admin")
    with contextlib.ExitStack() as stack:

        def make(**options) -> httpx.Client:
            url = stack.enter_context(serve_app(create_app(svc, **options)))
            return stack.enter_context(httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"},
                                                   timeout=60))

        yield make
    svc.store.close()


def test_every_error_under_mlflow_paths_has_mlflow_body(live):
    c = live.client("submitter")
    url = live.url
    assert "experiment_name" in mlflow_error(c.get(f"{url}{BASE}/experiments/get-by-name"), 400,
                                             "INVALID_PARAMETER_VALUE")
    mlflow_error(c.get(f"{url}{BASE}/runs/get", params={"run_id": "x" * 65}), 400, "INVALID_PARAMETER_VALUE")
    assert "not valid JSON" in mlflow_error(c.post(f"{url}{BASE}/runs/create", content=b"{",
                                                   headers={"Content-Type": "application/json"}),
                                            400, "INVALID_PARAMETER_VALUE")
    mlflow_error(c.post(f"{url}{BASE}/runs/create", json=[1]), 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(c.post(f"{url}{BASE}/runs/log-metric", json={"run_id": "r", "key": "k", "value": {"a": 1}}),
                 400, "INVALID_PARAMETER_VALUE")
    mlflow_error(httpx.post(f"{url}{BASE}/experiments/search", json={}), 401, "UNAUTHENTICATED")
    mlflow_error(c.get(f"{url}{BASE}/experiments/get", params={"experiment_id": "nope"}), 404,
                 "RESOURCE_DOES_NOT_EXIST")
    mlflow_error(c.get(f"{url}{BASE}/registered-models/list"), 404, "ENDPOINT_NOT_FOUND")
    not_allowed = c.delete(f"{url}/api/2.0/mlflow-artifacts/artifacts")
    mlflow_error(not_allowed, 405, "BAD_REQUEST")
    assert "GET" in not_allowed.headers["Allow"]
    created = c.post(f"{url}{BASE}/experiments/create", json={"name": "twice"})
    assert created.status_code == 200
    mlflow_error(c.post(f"{url}{BASE}/experiments/create", json={"name": "twice"}), 400, "RESOURCE_ALREADY_EXISTS")
    # Azure ML's body stays everywhere else.
    assert "Error" in c.get("/runs/nope").json()


def test_an_over_limit_body_and_a_bug_answer_in_mlflow_body_too(serve, monkeypatch):
    small = serve(max_body_bytes=64)
    mlflow_error(small.post(f"{BASE}/runs/log-batch", json={"run_id": "r", "tags": [{"key": "k", "value": "v" * 100}]}),
                 413, "INVALID_PARAMETER_VALUE")

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(mlflow_tracking, "search_experiments", broken)
    assert "see the server log" in mlflow_error(serve().post(f"{BASE}/experiments/search", json={}), 500,
                                                "INTERNAL_ERROR")


def test_the_document_names_mlflow_models_for_bodies_answers_and_errors(serve):
    doc = serve().get("/openapi.json").json()
    text = json.dumps(doc)
    dangling = set(re.findall(r"#/components/schemas/(\w+)", text)) - set(doc["components"]["schemas"])
    mlflow_ops = {(p, method): op for p, ops in doc["paths"].items() if p.startswith("/api/2.0/")
                  for method, op in ops.items()}
    assert len(mlflow_ops) >= 19
    for (path, method), op in mlflow_ops.items():
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        assert body.get("$ref", "").split("/")[-1] not in dangling, (path, method)
        assert op["responses"]["200"].get("content"), (path, method)
        for status in ("400", "401", "404", "500"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/MlflowError"}, (path, method, status)
    assert "MlflowError" not in json.dumps(doc["paths"]["/api/v1/runs"])


def test_answers_validate_against_their_models(live):
    c = live.client("submitter")
    url = live.url + BASE
    exp = c.post(f"{url}/experiments/create", json={"name": "shapes"}).json()
    m.ExperimentCreated.model_validate(exp)
    m.ExperimentAnswer.model_validate(c.get(f"{url}/experiments/get", params=exp).json())
    run = m.RunAnswer.model_validate(c.post(f"{url}/runs/create", json=exp).json()).run
    run_id = run.info.run_id
    for value in (0.5, "NaN", "Infinity"):
        assert c.post(f"{url}/runs/log-metric", json={"run_id": run_id, "key": "m", "value": value,
                                                      "timestamp": 1, "step": 0}).json() == {}
    history = m.MetricHistory.model_validate(c.get(f"{url}/metrics/get-history",
                                                   params={"run_id": run_id, "metric_key": "m"}).json())
    assert [x.value for x in history.metrics][1:] == ["NaN", "Infinity"]
    done = c.post(f"{url}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 2000})
    assert m.RunUpdated.model_validate(done.json()).run_info.status == "FINISHED"
    found = m.RunsFound.model_validate(c.post(f"{url}/runs/search", json={"experiment_ids": [exp["experiment_id"]]}).json())
    assert [r.info.run_id for r in found.runs] == [run_id]
    m.ArtifactList.model_validate(c.get(f"{url}/artifacts/list", params={"run_id": run_id}).json())
