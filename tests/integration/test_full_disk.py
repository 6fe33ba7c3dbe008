"""A full disk under a live server: submissions answer 507 with a clear message (never 500), and
every accepted run ends once space is freed (none stays Running).

The home lives on a small tmpfs (or, failing that, a loop-mounted ext4 image), which needs root;
the test skips only where neither can be made.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from headrace import Pipeline, PipelineData, PipelineParameter, PythonScriptStep
from headrace.config import load_settings
from headrace.server.app import create_app
from headrace.services import publishing, tokens
from headrace.wiring import build_agent, build_services

DISK_MB = 48

# Writes SIZE MiB to its output; with --fill, then fills the disk until it is full (the end of this
# step is then recorded on a full disk), telling the test through a file on another disk.
BIG = r'''
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--out"); p.add_argument("--mib", type=int); p.add_argument("--fill"); p.add_argument("--signals")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "blob"), "wb") as f:
    f.write(os.urandom(a.mib << 20))
if a.fill != "none":
    try:
        with open(a.fill, "wb") as f:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
    except OSError:
        pass
    open(os.path.join(a.signals, "disk-full"), "w").close()
'''


def _run(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(folder))
    if not mounted:
        image = tmp_path / "disk.img"
        mounted = (_run("truncate", "-s", f"{DISK_MB}M", str(image)) and _run("mkfs.ext4", "-q", str(image))
                   and _run("mount", "-o", "loop", str(image), str(folder)))
    if not mounted:
        pytest.skip("cannot mount a small filesystem here (a tmpfs or a loop device needs root)")
    try:
        yield folder
    finally:
        _run("umount", "-l", str(folder))


def test_full_disk_answers_507_and_every_run_ends_once_space_is_freed(small_disk, tmp_path, write_scripts,
                                                                      serve_app, wait_until):
    signals = tmp_path / "signals"
    signals.mkdir()
    filler = small_disk / "filler"
    svc = build_services(load_settings(home=small_disk / "home"))
    agent = build_agent(svc, poll_seconds=0.05, lease_seconds=3)
    app = create_app(svc, agent=agent, shutdown_grace_seconds=20)
    token = tokens.create_token(svc, "submitter", name="full-disk")[0]
    scripts = write_scripts({"big.py": BIG})
    out = PipelineData("out")
    mib, fill = PipelineParameter("mib", default_value=0), PipelineParameter("fill", default_value="none")
    step = PythonScriptStep(name="big", script_name="big.py", source_directory=scripts, allow_reuse=False,
                            arguments=["--out", out, "--mib", mib, "--fill", fill, "--signals", str(signals)],
                            outputs=[out])
    published = publishing.publish_pipeline(svc, Pipeline(workspace=None, steps=[step]), name="big").id
    accepted: list[str] = []
    statuses: list[int] = []
    try:
        with serve_app(app) as url, httpx.Client(base_url=f"{url}/api/v1", timeout=30,
                                                 headers={"Authorization": f"Bearer {token}"}) as client:

            def submit(**params: object) -> httpx.Response:
                response = client.post(f"/pipelines/{published}/submit",
                                       json={"ExperimentName": "full", "ParameterAssignments": params})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    accepted.append(response.json()["Id"])
                return response

            assert submit(mib=10, fill=str(filler)).status_code == 200
            wait_until(lambda: (signals / "disk-full").exists(), timeout=60, message="the step to fill the disk")
            refused = None
            deadline = time.monotonic() + 60
            while refused is None and time.monotonic() < deadline:
                answer = submit(mib=0)
                assert answer.status_code in (200, 507), answer.text  # never a 500
                if answer.status_code == 507:
                    refused = answer.json()["Error"]
            assert refused is not None, f"no submission was refused on a full disk ({len(statuses)} tried)"
            assert refused["Code"] == "InsufficientStorage"
            assert "disk holding the database is full" in refused["Message"], refused

            os.unlink(filler)  # space is freed: every run must now end
            wait_until(lambda: all(svc.store.get_run(r).status.is_terminal for r in accepted), timeout=90,
                       message="every accepted run to end once space was freed")
            for run_id in accepted:
                run = svc.store.get_run(run_id)
                steps = svc.store.list_step_runs(run_id)
                assert all(s.status.is_terminal for s in steps), steps
                assert run.status.value == "Finished" or run.error, run  # a failure says why
            assert len(svc.store.list_runs(limit=1000)[0]) == len(accepted)  # nothing half-written

            after = submit(mib=1)
            assert after.status_code == 200, after.text
            wait_until(lambda: svc.store.get_run(accepted[-1]).status.is_terminal, timeout=60,
                       message="a run submitted after the disk was freed to end")
            assert svc.store.get_run(accepted[-1]).status.value == "Finished"
    finally:
        for run in svc.store.list_runs(limit=1000)[0]:
            if not run.status.is_terminal:
                agent.cancel(run.id)
        agent.stop(wait=True)
        svc.store.close()
