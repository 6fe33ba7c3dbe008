"""The agent's half of Model.get_model_path inside a step: requests found, resolved, files copied once."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

from headrace.datastores.fsspec_store import FsspecDatastore
from headrace.engine import step_models
from headrace.engine.step_env import MODEL_REQUESTS
from headrace.errors import NotFoundError


class Registry:
    """The two store reads step_models makes, over a dict."""

    def __init__(self, versions):
        self.versions = versions

    def get_model_version(self, name, version=None):
        found = [v for v in self.versions if v.name == name and (version is None or v.version == version)]
        if not found:
            raise NotFoundError("model", name)
        return max(found, key=lambda v: v.version)

    def list_model_versions(self, name=None, *, latest=False):
        return [v for v in self.versions if name is None or v.name == name]


def _request(context: Path, req_id: str, body) -> None:
    (context / MODEL_REQUESTS).mkdir(parents=True, exist_ok=True)
    (context / MODEL_REQUESTS / f"{req_id}.json").write_text(json.dumps(body))


def test_requests_are_answered_once_with_the_files_copied(tmp_path: Path):
    artifacts = FsspecDatastore.local("artifacts", tmp_path / "artifacts")
    data = b"weights"
    sha = hashlib.sha256(data).hexdigest()
    artifacts.write_bytes(f"models/blobs/{sha}", data)
    model = SimpleNamespace(name="churn", version=2, root="model", files=[
        {"path": "model/w.bin", "size": len(data), "sha256": sha}])
    store = Registry([model])
    context = tmp_path / "ctx"
    _request(context, "a" * 32, {"name": "churn", "version": None})
    _request(context, "b" * 32, {"name": "churn", "version": 7})
    _request(context, "c" * 32, {"name": "other"})
    (context / MODEL_REQUESTS / "not-a-request.json").write_text("{}")  # ignored: not a request id
    assert step_models.serve(context, store, artifacts) == 3
    answers = {p.name[:1]: json.loads(p.read_text()) for p in (context / MODEL_REQUESTS).glob("*.answer.json")}
    assert answers["a"]["path"] == str(context / "models" / "churn" / "2" / "model")
    assert (context / "models/churn/2/model/w.bin").read_bytes() == data
    assert answers["b"] == {"error": "not found", "not_found": True, "key": "churn:7", "hint": "versions of 'churn': 2"}
    assert answers["c"]["hint"] == "registered models: churn"
    assert step_models.pending(context) == [] and step_models.serve(context, store, artifacts) == 0


def test_a_malformed_request_is_answered_with_the_reason(tmp_path: Path):
    context = tmp_path / "ctx"
    _request(context, "d" * 32, {"name": 3})
    step_models.serve(context, Registry([]), FsspecDatastore.local("a", tmp_path / "a"))
    answer = json.loads((context / MODEL_REQUESTS / f"{'d' * 32}.answer.json").read_text())
    assert "needs a name" in answer["error"]


def test_a_parallel_run_node_on_another_worker_is_told_at_once(tmp_path: Path, monkeypatch):
    import pytest

    from headrace.engine.step_env import ENV_CONTEXT_DIR, ENV_REMOTE_NODE, ENV_STEP_RUN_ID
    from headrace.errors import ConfigError
    from headrace.sdk.models.model import Model

    monkeypatch.setenv(ENV_CONTEXT_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_STEP_RUN_ID, "s1")
    monkeypatch.setenv(ENV_REMOTE_NODE, "1")
    with pytest.raises(ConfigError, match="only node 0 .* reaches the agent"):
        Model.get_model_path("churn")
    assert not (tmp_path / MODEL_REQUESTS).exists()  # nothing left waiting for an answer that never comes
