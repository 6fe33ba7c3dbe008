"""Cloud datastores registered on both backends (embedded, and remote over REST), on moto's S3 server."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from headrace import Datastore, Workspace
from headrace.errors import AlreadyExistsError, ConfigError, DatastoreError

S3 = os.environ.get("HEADRACE_TEST_S3_ENDPOINT")


@pytest.fixture
def endpoint() -> str:
    if not S3:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no S3 emulator: run the tests through scripts/test.sh")
        pytest.skip("HEADRACE_TEST_S3_ENDPOINT unset (scripts/emulators.sh)")
    return S3


def test_register_use_and_unregister_an_s3_bucket(ws: Workspace, endpoint: str, tmp_path: Path) -> None:
    bucket = f"hr-{uuid.uuid4().hex[:12]}"
    secret = f"s3cret-{uuid.uuid4().hex}"
    ds = Datastore.register_s3(ws, "lake", bucket, endpoint_url=endpoint, key="testing", secret=secret,
                               create_if_not_exists=True)
    assert (ds.datastore_type, ds.root_uri) == ("s3", f"s3://{bucket}")
    (tmp_path / "a.txt").write_text("hello")
    assert ds.upload_files([tmp_path / "a.txt"], target_path="in") == ["in/a.txt"]
    assert [f.path for f in ws.datastores["lake"].list()] == ["in/a.txt"]
    shown = json.dumps(ws._backend.datastore_record("lake").options)
    assert secret not in shown and '"auth": "key"' in shown
    with pytest.raises(AlreadyExistsError):
        Datastore.register_s3(ws, "lake", bucket, endpoint_url=endpoint, key="testing", secret=secret)
    with pytest.raises(DatastoreError, match="bucket or container 'hr-missing-[0-9a-f]+' does not exist") as info:
        Datastore.register_s3(ws, "gone", f"hr-missing-{uuid.uuid4().hex[:6]}", endpoint_url=endpoint, key="k",
                              secret=secret)
    assert secret not in str(info.value)
    ds.unregister()
    assert "lake" not in ws.datastores
    with pytest.raises(ConfigError, match="cannot be unregistered"):
        ws.get_default_datastore().unregister()
