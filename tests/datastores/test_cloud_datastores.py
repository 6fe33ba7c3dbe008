"""Cloud datastores registered through the SDK, on the real emulators (moto's S3 server, Azurite).

Registration (credentials encrypted at rest, never shown, checked once), a pipeline reading its input from and
writing its output to the cloud store, and a reactive schedule watching it.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_object_store_datastores import AZURE_CONNECTION, S3_ENDPOINT, STORES

from headrace import (
    DataPath,
    Datastore,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
    Workspace,
)
from headrace import clock as clock_module
from headrace.errors import AlreadyExistsError, ConfigError, DatastoreError
from headrace.services import publishing
from headrace.services import schedules as svc_schedules
from headrace.services.scheduler import Scheduler

AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _blob_endpoint() -> str:
    return (AZURE_CONNECTION or "").split("BlobEndpoint=")[1].rstrip(";")


def register(ws: Workspace, kind: str, name: str, *, bucket: str | None = None, secret: str | None = None,
             create: bool = True, overwrite: bool = False) -> Datastore:
    """Register a new bucket (S3) or container (Azure Blob) of the running emulator."""
    if not (S3_ENDPOINT if kind == "s3" else AZURE_CONNECTION):
        pytest.fail(f"no {kind} emulator: run the tests through scripts/test.sh (it starts them)")
    bucket = bucket or f"hr-{uuid.uuid4().hex[:12]}"
    if kind == "s3":
        return Datastore.register_s3(ws, name, bucket, endpoint_url=S3_ENDPOINT, key="testing",
                                     secret=secret or "testing", create_if_not_exists=create, overwrite=overwrite)
    return Datastore.register_azure_blob_container(ws, name, bucket, "devstoreaccount1",
                                                   account_key=secret or AZURE_KEY, endpoint=_blob_endpoint(),
                                                   create_if_not_exists=create, overwrite=overwrite)


@pytest.fixture(params=STORES)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home")


def test_files_round_trip_and_the_secret_is_stored_encrypted(ws, kind, tmp_path):
    ds = register(ws, kind, "lake")
    (tmp_path / "a.csv").write_text("x,y\n1,2\n")
    assert ds.upload_files([tmp_path / "a.csv"], target_path="raw") == ["raw/a.csv"]
    assert [f.path for f in ws.datastores["lake"].list("raw")] == ["raw/a.csv"]
    assert ds.download(tmp_path / "back", prefix="raw") == 1
    assert (tmp_path / "back" / "raw" / "a.csv").read_text() == "x,y\n1,2\n"
    assert ds.datastore_type == ("s3" if kind == "s3" else "azure_blob")
    stored = json.dumps(ws._backend.datastore_record("lake").options)
    assert "testing\"" not in stored.replace('"key": "testing"', "") and AZURE_KEY not in stored
    assert AZURE_KEY[:20] not in stored


def test_wrong_credentials_name_the_datastore_and_never_the_secret(ws, kind):
    register(ws, kind, "good", bucket="hr-shared-bucket")
    if kind == "abfs":
        bad = "QUJD" + AZURE_KEY[4:]
        with pytest.raises(DatastoreError) as info:
            register(ws, kind, "bad", bucket="hr-shared-bucket", secret=bad, create=False)
    else:  # moto accepts any key: a store that cannot be reached stands in for one that refuses
        bad = "wrong-secret-value"
        with pytest.raises(DatastoreError) as info:
            Datastore.register_s3(ws, "bad", "hr-shared-bucket", endpoint_url="http://127.0.0.1:9", key="k",
                                  secret=bad)
    assert "datastore 'bad'" in str(info.value) and bad not in str(info.value)
    assert "bad" not in ws.datastores  # nothing half-registered


def test_a_missing_bucket_says_so_and_how_to_make_it(ws, kind):
    with pytest.raises(DatastoreError, match=r"bucket or container 'hr-nothere\w+' does not exist "
                                             r"\(create_if_not_exists=True makes it\)"):
        register(ws, kind, "gone", bucket=f"hr-nothere{uuid.uuid4().hex[:8]}", create=False)


def test_names_overwrite_and_unregister(ws, kind):
    register(ws, kind, "lake")
    with pytest.raises(AlreadyExistsError, match="overwrite=True"):
        register(ws, kind, "lake")
    again = register(ws, kind, "lake", overwrite=True)
    assert again.root_uri != ws.get_default_datastore().root_uri
    again.unregister()
    assert "lake" not in ws.datastores
    with pytest.raises(ConfigError, match="default datastore and cannot be unregistered"):
        ws.get_default_datastore().unregister()
    with pytest.raises(ConfigError, match="invalid datastore name"):
        register(ws, kind, "no spaces")


COUNT = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--src"); p.add_argument("--out"); a = p.parse_args()
rows = open(a.src).read().splitlines()[1:]
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "count.txt"), "w").write(str(len(rows)))
print("counted", len(rows))
"""


def test_a_pipeline_reads_and_writes_a_cloud_datastore(ws, kind, tmp_path):
    ds = register(ws, kind, "lake")
    (tmp_path / "rows.csv").write_text("a\n1\n2\n3\n")
    ds.upload_files([tmp_path / "rows.csv"], target_path="raw")
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "count.py").write_text(COUNT)
    source = PipelineParameter("source", default_value=DataPath(ds, "raw/rows.csv"))
    out = PipelineData("counted", datastore=ds)
    step = PythonScriptStep(name="count", script_name="count.py", source_directory=str(tmp_path / "steps"),
                            arguments=["--src", source, "--out", out], inputs=[source], outputs=[out])
    run = Experiment(ws, "cloud").submit(Pipeline(workspace=ws, steps=[step]))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Finished"
    written = [f.path for f in ds.list("headrace/runs") if f.path.endswith("count.txt")]
    assert len(written) == 1 and ds._impl.read_bytes(written[0]) == b"3"


HALF = """import os, sys, pathlib
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "a.txt").write_text("written")
os.symlink("/nonexistent/file", out / "b.txt")  # uploading this one fails, after a.txt went up
"""


def test_an_output_that_fails_to_upload_leaves_nothing_behind(ws, kind, tmp_path):
    ds = register(ws, kind, "lake")
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "half.py").write_text(HALF)
    out = PipelineData("half", datastore=ds)
    step = PythonScriptStep(name="half", script_name="half.py", source_directory=str(tmp_path / "steps"),
                            arguments=[out], outputs=[out], allow_reuse=False)
    run = Experiment(ws, "cloud").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    log = run.find_step_run("half")[0].get_execution_log()
    assert "uploading output 'half' failed" in log and f"the partial upload at lake/headrace/runs/{run.id}/half/half was removed" in log
    assert [f.path for f in ds.list("headrace/runs")] == []


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_reactive_schedule_fires_once_per_new_blob(ws, kind, tmp_path):
    fake = _Clock()
    clock_module.set_clock(fake)
    try:
        ds = register(ws, kind, "lake")
        (tmp_path / "steps").mkdir()
        (tmp_path / "steps" / "count.py").write_text(COUNT)
        source = PipelineParameter("source", default_value=DataPath(ds, "incoming/none.csv"))
        out = PipelineData("o", datastore=ds)
        step = PythonScriptStep(name="count", script_name="count.py", source_directory=str(tmp_path / "steps"),
                                arguments=["--src", source, "--out", out], inputs=[source], outputs=[out])
        svc = ws._backend.svc
        published = publishing.publish_pipeline(svc, Pipeline(workspace=ws, steps=[step]), name="count").id
        (tmp_path / "one.csv").write_text("a\n1\n")
        ds.upload_files([tmp_path / "one.csv"], target_path="incoming")
        schedule = svc_schedules.create_schedule(svc, name="on-blob", experiment_name="blobs",
                                                 published_pipeline_id=published, datastore="lake",
                                                 path_on_datastore="incoming", polling_interval=0.05,
                                                 data_path_parameter_name="source")
        sch = Scheduler(svc)
        fake.now += timedelta(seconds=3)
        assert sch.run_pending().runs == []  # one.csv was there when the schedule was made
        (tmp_path / "two.csv").write_text("a\n1\n2\n")
        ds.upload_files([tmp_path / "two.csv"], target_path="incoming")
        fake.now += timedelta(seconds=3)
        [fired] = sch.run_pending().runs
        fake.now += timedelta(seconds=3)
        assert sch.run_pending().runs == []
        run = svc.store.get_run(fired)
        assert run.parameters["source"] == {"datastore": "lake", "path": "incoming/two.csv"}
        assert svc.store.list_runs(schedule_id=schedule.id, limit=10)[0][0].id == fired
    finally:
        clock_module.set_clock(None)


def test_credentials_come_back_only_to_open_the_store(ws, kind):
    register(ws, kind, "lake")
    os.environ.pop("HEADRACE_SECRET_KEY", None)
    again = Workspace(ws.home)  # a new process reads the registration and decrypts with the home's key
    assert again.datastores["lake"].list() == []


def test_a_public_container_is_read_anonymously_at_an_emulator_endpoint(ws, tmp_path):
    """As Microsoft's samples register their public containers: no key, no SAS (here at Azurite's endpoint)."""
    owner = register(ws, "azure", "owner")
    (tmp_path / "iris.csv").write_text("a,b\n1,2\n")
    owner.upload_files([str(tmp_path / "iris.csv")], target_path="iris")
    from azure.storage.blob import BlobServiceClient

    container = owner._impl.root_uri.split("://", 1)[1].strip("/")
    BlobServiceClient.from_connection_string(AZURE_CONNECTION).get_container_client(container) \
        .set_container_access_policy(signed_identifiers={}, public_access="container")
    public = Datastore.register_azure_blob_container(ws, "public", container, "somepublicaccount",
                                                     endpoint=_blob_endpoint())
    assert [f.path for f in public._impl.list("iris")] == ["iris/iris.csv"]
    assert public._impl.read_bytes("iris/iris.csv") == b"a,b\n1,2\n"
    with pytest.raises(DatastoreError, match="public"):
        public._impl.write_bytes("iris/new.csv", b"x")  # anonymous: read only, said plainly
