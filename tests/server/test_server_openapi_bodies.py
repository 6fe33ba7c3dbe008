"""Every request body the document refers to is in it (the schema fuzz then generates real bodies for them).

Regression: bodies parsed by hand (``deps.body_doc``) referred to schemas that were never added, so the fuzz
sent arbitrary bodies and never reached their checks; once real bodies were sent, a dataset source without
``datastore``/``path`` answered 500 (``KeyError``) instead of 400.
"""

from __future__ import annotations

import json
import re

from headrace.server.app import create_app
from headrace.services import tokens


def test_no_schema_reference_dangles():
    doc = create_app(None).openapi()  # type: ignore[arg-type] - building the document needs no services
    refs = set(re.findall(r"#/components/schemas/(\w+)", json.dumps(doc)))
    assert refs - set(doc["components"]["schemas"]) == set()
    body = doc["paths"]["/api/v1/datasets/resolve"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/DatasetDefinition"}


def test_a_dataset_source_needs_a_datastore_and_a_path(tmp_path, make_services, serve_app):
    import httpx

    svc = make_services(tmp_path / "home")
    secret, _ = tokens.create_token(svc, "admin")
    try:
        with serve_app(create_app(svc)) as url:
            answer = httpx.post(f"{url}/api/v1/datasets/resolve", json={"Kind": "file", "Sources": [{}]},
                                headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    finally:
        svc.store.close()
    assert answer.status_code == 400, answer.text
    assert "'datastore' and 'path'" in answer.json()["Error"]["Message"]
