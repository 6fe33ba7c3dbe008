"""Datastore paths over REST: symbolic links that leave a datastore, over-long and deep paths, and
error messages that name datastore-relative paths only (never where the server keeps its files)."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import httpx
import pytest

from headrace import DataPath, Pipeline, PipelineData, PythonScriptStep
from headrace.services import datastores
from headrace.services import runs as run_service

ADMIN_ONLY = "admin token"


@pytest.fixture
def links(live, tmp_path: Path) -> Path:
    """Links in ``workspaceblobstore``: to /etc, to a file and a folder outside it, to the home's
    config and database, and one to its own ``raw`` folder (allowed: it stays inside)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    (live.svc.home / "config.json").write_text(f'{{"token": "{ADMIN_ONLY}"}}')
    root = live.svc.home / "datastores" / "workspaceblobstore"
    os.symlink("/etc", root / "etc")
    os.symlink(outside / "secret.txt", root / "secret.txt")
    os.symlink(outside, root / "other")
    os.symlink(live.svc.home / "config.json", root / "config")
    os.symlink("../..", root / "up")
    os.symlink("raw", root / "inside")
    return outside


def _refused(r, rel: str, tmp_path: Path) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["Error"]
    assert error["Code"] == "PathEscapesDatastore"
    assert repr(rel) in error["Message"]
    assert str(tmp_path) not in error["Message"] and "file://" not in error["Message"]


@pytest.mark.parametrize("path", ["etc/passwd", "secret.txt", "other/secret.txt", "config", "up/config.json"])
def test_reading_through_a_link_that_leaves_the_datastore_is_refused(live, links, tmp_path, path):
    for role in ("reader", "admin"):
        _refused(live.client(role).get(f"/datastores/workspaceblobstore/files/{path}"), path, tmp_path)


def test_listing_neither_follows_nor_reports_links_that_leave(live, links, tmp_path):
    reader = live.client("reader")
    for prefix in ("etc", "other", "up"):
        _refused(reader.get("/datastores/workspaceblobstore/files", params={"prefix": prefix}), prefix, tmp_path)
    for recursive in ("true", "false"):
        listed = reader.get("/datastores/workspaceblobstore/files", params={"recursive": recursive}).json()["Value"]
        paths = [f["Path"] for f in listed]
        assert paths == (["raw/data.csv"] if recursive == "true" else [])


def test_a_link_inside_the_datastore_still_works(live, links):
    r = live.client("reader").get("/datastores/workspaceblobstore/files/inside/data.csv")
    assert r.status_code == 200 and r.content == b"a,b\n1,2\n"


def test_writing_through_a_link_that_leaves_is_refused(live, links, tmp_path):
    sub = live.client("submitter")
    _refused(sub.put("/datastores/workspaceblobstore/files/other/new.txt", content=b"x"), "other/new.txt", tmp_path)
    _refused(sub.put("/datastores/workspaceblobstore/files/secret.txt", params={"overwrite": "true"},
                     content=b"gone"), "secret.txt", tmp_path)
    _refused(sub.put("/datastores/workspaceblobstore/files/up/planted.txt", content=b"x"), "up/planted.txt",
             tmp_path)
    assert sorted(p.name for p in links.iterdir()) == ["secret.txt"]
    assert (links / "secret.txt").read_text() == "top secret"
    assert not (tmp_path / "planted.txt").exists()


def test_data_paths_and_reactive_schedules_through_such_links_are_refused(live, links, published, tmp_path):
    sub = live.client("submitter")
    body = {"ExperimentName": "links", "DataPathAssignments": {
        "input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": "other/secret.txt"}}}
    r = sub.post(f"/pipelines/{published}/submit", json=body)
    assert r.status_code == 400 and r.json()["Error"]["Code"] == "PathEscapesDatastore", r.text
    assert "'other/secret.txt'" in r.json()["Error"]["Message"]
    watch = {"DataStoreName": "workspaceblobstore", "PathOnDataStore": "other", "PollingInterval": 5,
             "DataPathParameterName": "input_data"}
    r = live.client("admin").post("/schedules", json={"Name": "leak", "PipelineId": published, "DataStoreTriggerInfo": watch,
                                     "PipelineSubmissionInfo": {"ExperimentName": "links"}})
    _refused(r, "other", tmp_path)
    assert live.svc.store.list_schedules() == []


LINKER = r'''
import os, sys
out, outside = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "ok.txt"), "w").write("fine")
os.symlink("/etc/passwd", os.path.join(out, "passwd"))
os.symlink(os.path.join(outside, "secret.txt"), os.path.join(out, "secret.txt"))
os.symlink(outside, os.path.join(out, "away"))
'''


def _ui_session(live, role: str) -> httpx.Client:
    c = httpx.Client(base_url=live.url, follow_redirects=False, timeout=30)
    live.clients.append(c)
    c.get("/signin")
    r = c.post("/signin", data={"token": live.tokens[role], "csrf": c.cookies["headrace_signin_csrf"], "next": "/runs"})
    assert r.status_code == 303
    return c


def test_ui_downloads_leave_out_or_refuse_links_that_leave(live, links, tmp_path, write_scripts):
    """A step's output holding links to outside files, then an output replaced by such a link."""
    scripts = write_scripts({"linker.py": LINKER}, name="linker")
    out = PipelineData("report")
    step = PythonScriptStep(name="linker", script_name="linker.py", source_directory=scripts, allow_reuse=False,
                            arguments=[out, str(links)], outputs=[out])
    run = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[step]), "links")
    assert live.wait_run(run.id)["Status"] == "Finished"
    c = _ui_session(live, "reader")
    r = c.get(f"/runs/{run.id}/steps/linker/outputs/report")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["ok.txt"]
    where = run_service.get_step_run(live.svc, run.id, "linker").outputs["report"]
    folder = Path(datastores.get_datastore(live.svc, where["datastore"]).local_path(where["path"]))
    shutil.rmtree(folder)
    os.symlink(links / "secret.txt", folder)
    r = c.get(f"/runs/{run.id}/steps/linker/outputs/report")
    assert r.status_code == 400 and "top secret" not in r.text and repr(where["path"]) in r.text
    assert str(tmp_path) not in r.text


GATE = r'''
import os, sys, time
deadline = time.monotonic() + 60
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.02)
'''
READER = r'''
import sys
print("read:", open(sys.argv[1]).read())
'''


def test_staging_refuses_an_input_that_became_an_outward_link(live, links, tmp_path, write_scripts):
    """Checked at submission, the input folder is swapped for a link before its step is staged."""
    root = live.svc.home / "datastores" / "workspaceblobstore"
    (root / "feed").mkdir()
    (root / "feed" / "secret.txt").write_text("harmless")
    scripts = write_scripts({"gate.py": GATE, "reader.py": READER}, name="gated")
    go = live.signals / "go"
    done = PipelineData("done")
    data = DataPath("workspaceblobstore", "feed/secret.txt")
    gate = PythonScriptStep(name="gate", script_name="gate.py", source_directory=scripts, allow_reuse=False,
                            arguments=[str(go), done], outputs=[done])
    read = PythonScriptStep(name="read", script_name="reader.py", source_directory=scripts, allow_reuse=False,
                            arguments=[data], inputs=[data, done])
    run = run_service.submit_pipeline(live.svc, Pipeline(workspace=None, steps=[gate, read]), "links")
    shutil.rmtree(root / "feed")
    os.symlink(links, root / "feed")
    go.write_text("go")
    assert live.wait_run(run.id)["Status"] == "Failed"
    step = run_service.get_step_run(live.svc, run.id, "read")
    assert step.status.value == "Failed"
    reader = live.client("reader")
    logs = " ".join(reader.get(f"/runs/{run.id}/steps/read/logs", params={"log": which}).text
                    for which in ("stdout", "stderr", "execution"))
    assert "top secret" not in logs
    assert "'feed/secret.txt'" in logs and "symbolic link" in logs, logs


LONG_OR_DEEP = ["x" * 300 + ".txt", "raw/" + "é" * 200 + ".csv", "a/" * 3000 + "f.txt", "a/" * 200 + "f.txt",
                "b" * 1100, "a/" * 3000]


@pytest.mark.parametrize("path", LONG_OR_DEEP,
                         ids=["name", "utf8-name", "3000-deep", "200-deep", "total", "3000-deep-folder"])
def test_over_long_and_deep_paths_are_refused_before_touching_the_disk(live, published, tmp_path, path):
    root = live.svc.home / "datastores" / "workspaceblobstore"
    before = sorted(root.rglob("*"))
    sub, reader = live.client("submitter"), live.client("reader")
    answers = [
        sub.put(f"/datastores/workspaceblobstore/files/{path}", content=b"x"),
        reader.get(f"/datastores/workspaceblobstore/files/{path}"),
        sub.post(f"/pipelines/{published}/submit", json={"ExperimentName": "long", "DataPathAssignments": {
            "input_data": {"DataStoreName": "workspaceblobstore", "RelativePath": path}}}),
    ]
    for r in answers:
        assert r.status_code == 400, r.text
        message = r.json()["Error"]["Message"]
        assert str(tmp_path) not in message and "Errno" not in message and "Recursion" not in message
        assert "not allowed in datastore 'workspaceblobstore'" in message and len(message) < 600
    assert sorted(root.rglob("*")) == before


def test_names_up_to_the_limit_work(live):
    sub, reader = live.client("submitter"), live.client("reader")
    path = "/".join(["d"] * 100) + "/" + "n" * 255
    assert sub.put(f"/datastores/workspaceblobstore/files/{path}", content=b"ok").status_code == 200
    assert reader.get(f"/datastores/workspaceblobstore/files/{path}").content == b"ok"


def test_disk_errors_name_the_datastore_path_not_the_server_path(live, tmp_path):
    r = live.client("submitter").put("/datastores/workspaceblobstore/files/raw/data.csv/inner.txt", content=b"x")
    assert r.status_code == 400
    message = r.json()["Error"]["Message"]
    assert "'raw/data.csv/inner.txt'" in message and str(tmp_path) not in message and "file://" not in message


def test_a_relative_folder_is_registered_under_the_home_not_the_working_folder(live, tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    admin = live.client("admin")
    r = admin.post("/datastores", json={"Name": "rel", "Path": "data/rel"})
    assert r.status_code == 200, r.text
    home = live.svc.home.resolve()
    assert r.json()["RootUri"] == (home / "data" / "rel").as_uri()
    assert (home / "data" / "rel").is_dir() and list(cwd.iterdir()) == []
    again = admin.post("/datastores", json={"Name": "rel", "Path": str(home / "data" / "rel")})
    assert again.status_code == 200  # the same folder: registering again is a no-op
    assert live.client("submitter").put("/datastores/rel/files/a.txt", content=b"x").status_code == 200
    assert (home / "data" / "rel" / "a.txt").read_bytes() == b"x"


@pytest.mark.parametrize("path", ["", " ", ".", "data/..", "HOME", "HOME_PARENT"])
def test_the_home_and_folders_holding_it_cannot_become_a_datastore(live, tmp_path, path):
    home = live.svc.home.resolve()
    path = {"HOME": str(home), "HOME_PARENT": str(home.parent)}.get(path, path)
    r = live.client("admin").post("/datastores", json={"Name": "bad", "Path": path})
    assert r.status_code == 400, r.text
    assert "datastore 'bad'" in r.json()["Error"]["Message"]
    assert [d["Name"] for d in live.client("reader").get("/datastores").json()["Value"]] == ["workspaceblobstore"]
