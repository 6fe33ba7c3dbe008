"""The model registry's REST routes through a real server: uploads checked against their hash, bad input
answered with a clear 4xx naming the fix, nothing half-recorded."""

from __future__ import annotations

import hashlib


def _upload(c, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    assert c.post("/models/blobs/missing", json={"Sha256": [sha]}).json() == {"Missing": [sha]}
    r = c.put(f"/models/blobs/{sha}", content=data, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.json() == {"Sha256": sha, "Size": len(data)}
    assert c.post("/models/blobs/missing", json={"Sha256": [sha]}).json() == {"Missing": []}
    return sha


def test_register_read_stage_and_alias_over_rest(live) -> None:
    c, reader, submitter = live.client("admin"), live.client("reader"), live.client("submitter")
    sha = _upload(submitter, b"weights")
    body = {"Name": "churn", "Root": "model.bin", "Files": [{"Path": "model.bin", "Size": 7, "Sha256": sha}],
            "Tags": {"team": "crm"}}
    made = submitter.post("/models", json=body)
    assert made.status_code == 201 and made.json()["Id"] == "churn:1" and made.json()["CreatedBy"] == "token:submitter-test"
    assert reader.get("/models/churn/versions/1/files/model.bin").content == b"weights"
    moved = c.post("/models/churn/versions/1/stage", json={"Stage": "production", "Comment": "ship it"})
    assert moved.status_code == 200 and moved.json()["Model"]["Stage"] == "Production"
    assert [x["ToStage"] for x in moved.json()["Changes"]] == ["Production"]
    assert submitter.post("/models/churn/versions/1/stage", json={"Stage": "Archived"}).status_code == 403
    assert c.put("/models/churn/aliases/champion", json={"Version": 1}).status_code == 200
    assert reader.get("/models/churn", params={"alias": "champion"}).json()["Aliases"] == ["champion"]
    history = reader.get("/models/churn/history").json()["Value"]
    assert [(h["FromStage"], h["ToStage"], h["ChangedBy"], h["Comment"]) for h in history] == [
        ("None", "Production", "token:admin-test", "ship it")]


def test_bad_input_is_a_clear_4xx_and_records_nothing(live) -> None:
    c = live.client("admin")
    sha = _upload(c, b"weights")
    c.post("/models", json={"Name": "churn", "Root": "m", "Files": [{"Path": "m", "Size": 7, "Sha256": sha}]})

    def error(r, status: int) -> str:
        assert r.status_code == status, r.text
        return r.json()["Error"]["Message"]

    assert "a stage is one of None, Staging, Production, Archived" in error(
        c.post("/models/churn/versions/1/stage", json={"Stage": "Live"}), 400)
    assert "versions of 'churn': 1" in error(c.get("/models/churn/versions/9"), 404)
    assert "registered models: churn" in error(c.get("/models/nope"), 404)
    assert "aliases of 'churn': none" in error(c.get("/models/churn", params={"alias": "best"}), 404)
    wrong = "0" * 64
    assert "hashes to" in error(c.put(f"/models/blobs/{wrong}", content=b"other",
                                      headers={"Content-Type": "application/octet-stream"}), 400)
    missing = {"Name": "churn", "Root": "m", "Files": [{"Path": "m", "Size": 5, "Sha256": "1" * 64}]}
    assert "is not uploaded" in error(c.post("/models", json=missing), 400)
    assert error(c.post("/models/from-run", json={"Name": "churn", "RunId": "no-such-run", "ModelPath": "x/y"}), 404)
    assert "properties cannot be changed" not in error(c.post("/models", json={"Name": "bad name!", "Root": "m",
                                                                              "Files": []}), 400)
    assert [m["Id"] for m in c.get("/models").json()["Value"]] == ["churn:1"]
    assert c.get("/models/churn/history").json()["Value"] == []
    assert live.svc.store.get_model_version("churn", 1).stage == "None"


def test_a_version_beyond_64_bits_is_a_404(live) -> None:
    """Found by the schema fuzz: ``?version=`` of any size once reached SQLite and failed with a 500."""
    c = live.client("admin")
    sha = _upload(c, b"weights")
    c.post("/models", json={"Name": "churn", "Root": "m", "Files": [{"Path": "m", "Size": 7, "Sha256": sha}]})
    huge = 2296986523996940358226951670857728
    for r in (c.get("/models/churn/history", params={"version": huge}), c.get(f"/models/churn/versions/{huge}"),
              c.post(f"/models/churn/versions/{huge}/stage", json={"Stage": "Staging"}),
              c.put("/models/churn/aliases/best", json={"Version": huge}), c.delete(f"/models/churn/versions/{huge}")):
        assert r.status_code == 404 and "not found" in r.json()["Error"]["Message"], r.text
