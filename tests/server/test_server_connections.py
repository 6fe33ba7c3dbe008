"""``/api/v1/connections`` on the real ``live`` server: create or replace, list, get, delete, roles, validation,
and API keys that never come back out nor reach the disk unencrypted."""

from __future__ import annotations

from pathlib import Path

import httpx

from headrace.services import connections

KEY = "sk-live-5f2c9e0a-never-shown-7d1b"
AZURE = {"Type": "azure_openai", "BaseUrl": "https://acme.openai.azure.com", "ApiKey": KEY,
         "ApiVersion": "2024-10-21", "ContextSize": 16385, "Model": "gpt-35-turbo"}


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_create_get_list_replace_and_delete(live) -> None:
    admin, reader = live.client("admin"), live.client("reader")
    created = admin.put("/connections/aoai", json=AZURE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in ("Name", "Type", "BaseUrl", "HasApiKey", "ApiVersion", "ContextSize", "Model")} == {
        "Name": "aoai", "Type": "azure_openai", "BaseUrl": "https://acme.openai.azure.com", "HasApiKey": True,
        "ApiVersion": "2024-10-21", "ContextSize": 16385, "Model": "gpt-35-turbo"}
    assert body["CreatedTime"] == body["UpdatedTime"]
    # Snake-case keys (as `headrace connection list --json` prints them) work too.
    local = admin.put("/connections/local", json={"type": "openai", "base_url": "http://127.0.0.1:11434/v1",
                                                  "context_size": 8192, "extra": {"note": "ollama"}})
    assert local.status_code == 201, local.text
    assert (local.json()["HasApiKey"], local.json()["Extra"]) == (False, {"note": "ollama"})

    assert reader.get("/connections/aoai").json() == body
    listed = reader.get("/connections").json()
    assert [c["Name"] for c in listed["Value"]] == ["aoai", "local"] and listed["ContinuationToken"] is None

    replaced = admin.put("/connections/aoai", json={**AZURE, "ContextSize": 128000, "Model": "gpt-4o"})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["ContextSize"], replaced.json()["Model"], replaced.json()["HasApiKey"]) == (128000, "gpt-4o", True)
    assert replaced.json()["CreatedTime"] == body["CreatedTime"] != replaced.json()["UpdatedTime"]
    # A PUT replaces the whole connection: without ApiKey, no key is kept.
    keyless = admin.put("/connections/aoai", json={k: v for k, v in AZURE.items() if k != "ApiKey"})
    assert keyless.status_code == 200 and keyless.json()["HasApiKey"] is False

    assert admin.delete("/connections/aoai").status_code == 204
    missing = reader.get("/connections/aoai")
    assert missing.status_code == 404
    assert missing.json()["Error"]["Code"] == "NotFound" and "'aoai'" in missing.json()["Error"]["Message"]
    assert "known: local" in missing.json()["Error"]["Message"]
    gone = admin.delete("/connections/aoai")
    assert gone.status_code == 404 and "connection 'aoai'" in gone.json()["Error"]["Message"]
    assert [c["Name"] for c in reader.get("/connections").json()["Value"]] == ["local"]


def test_reading_needs_a_reader_and_writing_an_admin(live) -> None:
    assert live.client("admin").put("/connections/llm", json={"Type": "openai", "BaseUrl": "http://h/v1"}).status_code == 201
    anonymous = live.client(None)
    for r in (anonymous.get("/connections"), anonymous.get("/connections/llm")):
        assert r.status_code == 401 and r.json()["Error"]["Code"] == "Unauthorized"
    for role in ("reader", "submitter"):
        c = live.client(role)
        assert c.get("/connections/llm").status_code == 200
        for r in (c.put("/connections/llm", json={"Type": "openai", "BaseUrl": "http://evil/v1", "ApiKey": KEY}),
                  c.put("/connections/new", json={"Type": "openai", "BaseUrl": "http://evil/v1"}),
                  c.delete("/connections/llm")):
            assert r.status_code == 403, r.text
            assert r.json()["Error"]["Code"] == "Forbidden" and "admin role" in r.json()["Error"]["Message"]
    assert live.client("reader").get("/connections/llm").json()["BaseUrl"] == "http://h/v1"  # unchanged
    assert live.client("reader").get("/connections/new").status_code == 404


def test_validation_names_the_field(live) -> None:
    admin = live.client("admin")

    def refused(name: str, body: object) -> dict:
        r = admin.put(f"/connections/{name}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["Error"]["Code"] == "BadRequest"
        return r.json()["Error"]

    ok = {"Type": "openai", "BaseUrl": "https://api.openai.com/v1"}
    error = refused("llm", {**ok, "Type": "anthropic"})
    assert error["Target"] == "Type" and "type 'anthropic': choose one of openai, azure_openai, local" in error["Message"]
    error = refused("llm", {**ok, "BaseUrl": "api.openai.com"})
    assert error["Target"] == "BaseUrl" and "base_url 'api.openai.com': give an http(s) URL" in error["Message"]
    for size in (0, -5):
        error = refused("llm", {**ok, "ContextSize": size})
        assert error["Target"] == "ContextSize" and f"context_size {size}: give a positive number" in error["Message"]
    error = refused("llm", {**ok, "ContextSize": "lots"})
    assert error["Target"] == "ContextSize" and "valid integer" in error["Message"]
    error = refused("llm", {**ok, "Type": "azure_openai"})
    assert error["Target"] == "ApiVersion" and "api_version: azure_openai connections need one" in error["Message"]
    error = refused("-bad", ok)
    assert error["Target"] == "connection_name" and "name '-bad'" in error["Message"]
    error = refused("llm", {"Type": "openai"})
    assert error["Target"] == "BaseUrl" and "Field required" in error["Message"]
    error = refused("llm", {**ok, "base_url": "https://other/v1"})
    assert "given twice" in error["Message"]
    r = admin.put("/connections/llm", content=b"not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["Error"]["Message"]
    r = admin.put("/connections/llm", content=b'{"Type": "openai", "BaseUrl": "http://h/v1", "ApiKey": "\\ud800"}')
    assert r.status_code == 400 and "lone UTF-16 surrogate" in r.json()["Error"]["Message"]
    assert live.client("reader").get("/connections").json()["Value"] == []  # nothing half-stored


def test_the_key_is_never_returned_and_never_stored_in_plain(live) -> None:
    admin = live.client("admin")
    answers: list[httpx.Response] = [
        admin.put("/connections/aoai", json=AZURE),
        admin.put("/connections/aoai", json={**AZURE, "Model": "gpt-4o"}),
        admin.put("/connections/bad", json={**AZURE, "ContextSize": 0}),  # an error answer
        admin.get("/connections"),
        admin.get("/connections/aoai"),
        live.client("reader").get("/connections/aoai"),
        httpx.get(f"{live.url}/openapi.json", timeout=60),
    ]
    assert [r.status_code for r in answers] == [201, 200, 400, 200, 200, 200, 200]
    for r in answers:
        assert KEY not in r.text and KEY[:12] not in r.text and KEY[-8:] not in r.text
        assert '"ApiKey"' not in r.text or r.request.url.path == "/openapi.json"  # only HasApiKey
    # The key is stored (encrypted: the services decrypt it for calls), and no file of the home holds it.
    assert connections.load_connection(live.svc, "aoai").api_key == KEY
    assert _files_containing(live.svc.home, KEY.encode()) == []
    assert (live.svc.home / "secret.key").is_file()


def test_the_routes_are_documented(live) -> None:
    doc = httpx.get(f"{live.url}/openapi.json", timeout=60).json()
    item = doc["paths"]["/api/v1/connections/{connection_name}"]
    assert set(item) == {"get", "put", "delete"}
    assert {"200", "201"} <= set(item["put"]["responses"]) and "204" in item["delete"]["responses"]
    schema = item["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"Type", "BaseUrl", "ApiKey", "ContextSize"} <= set(schema["properties"])
    assert "HasApiKey" in doc["components"]["schemas"]["ConnectionRead"]["properties"]
    assert "ApiKey" not in doc["components"]["schemas"]["ConnectionRead"]["properties"]
