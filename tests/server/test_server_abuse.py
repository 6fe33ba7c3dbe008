"""Hostile or malformed requests on the real ``live`` server: each answers a clear 4xx, never a 500."""

from __future__ import annotations

import pytest


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Error"]["Code"] == code, body
    return body["Error"]


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_a_400_naming_the_nesting(live, published, depth):
    """Was a 500 (``RecursionError`` in ``json.loads``) on every JSON route."""
    deep = b'{"ExperimentName": "e", "Tags": ' + b"[" * depth + b"]" * depth + b"}"
    submitter, admin = live.client("submitter"), live.client("admin")
    headers = {"Content-Type": "application/json"}
    for response in (
        submitter.post(f"/pipelines/{published}/submit", content=deep, headers=headers),
        admin.post("/schedules", content=deep, headers=headers),
        admin.put("/connections/llm", content=deep, headers=headers),
    ):
        err = error(response, 400, "BadRequest")
        assert "nest" in err["Message"] and "64" in err["Message"], err
    # A body nested within the limit still reaches validation (a Tags value must be a string).
    shallow = b'{"ExperimentName": "e", "Tags": {"a": ' + b"[" * 10 + b"]" * 10 + b"}}"
    assert "nest" not in error(submitter.post(f"/pipelines/{published}/submit", content=shallow, headers=headers),
                               400, "BadRequest")["Message"]
