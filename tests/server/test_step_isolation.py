"""What a submitter's step can reach on the server's machine (issue 12, item 6), through a real server.

A step run by ``headrace server`` gets none of the server's credentials in its environment (nor in
``/proc/self/environ``, which a forked step could read back from the fork server): no home, database URL,
secret key or token. With ``HEADRACE_AGENT__STEP_USER`` (the server running as root) it runs as another OS
user and cannot read ``config.json``, ``secret.key`` or the database even by path, while it still writes
its outputs and metrics.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from headrace import Pipeline, PipelineData, PythonScriptStep
from headrace.services import connections, publishing, tokens

STEAL = r'''
import argparse, json, os
from headrace import Run

p = argparse.ArgumentParser()
p.add_argument("--out"); p.add_argument("--home")
a = p.parse_args()
found = {"uid": os.getuid(), "env": {k: v for k, v in os.environ.items()
                                     if k.startswith("HEADRACE_") and k not in ("HEADRACE_CONTEXT_DIR",)}}
found["proc_environ"] = open("/proc/self/environ", "rb").read().decode("utf-8", "replace")
home = a.home or os.environ.get("HEADRACE_HOME")  # by path (the test names it), or as the environment says
for name in ("config.json", "secret.key", "headrace.db"):
    try:
        with open(os.path.join(home, name), "rb") as f:
            found[name] = f.read(4096).decode("utf-8", "replace")
    except (OSError, TypeError) as exc:
        found[name] = f"refused: {type(exc).__name__}"
with open(os.path.join(a.out, "found.json"), "w") as f:
    json.dump(found, f)
Run.get_context().log("tried", 1)
print(json.dumps(found))
'''


def _steal_pipeline(scripts: Path, home: Path | None) -> Pipeline:
    out = PipelineData("out")
    args: list = ["--out", out]
    if home is not None:
        args += ["--home", str(home)]
    step = PythonScriptStep(name="steal", script_name="steal.py", source_directory=scripts, arguments=args,
                            outputs=[out], allow_reuse=False)
    return Pipeline(workspace=None, steps=[step])


def _run_steal(make_services, start_server, home: Path, scripts: Path, by_path: bool,
               env: dict[str, str]) -> tuple[dict, dict, str]:
    """Publish, start a server on ``home`` with ``env``, run the step as a submitter.

    Returns (what the step found, the run as REST shows it, the admin token from config.json).
    """
    (scripts / "steal.py").write_text(STEAL)
    svc = make_services(home)
    try:
        pipeline_id = publishing.publish_pipeline(svc, _steal_pipeline(scripts, home if by_path else None),
                                                  name="steal").id
        submitter, _ = tokens.create_token(svc, "submitter", name="submitter")
        reader, _ = tokens.create_token(svc, "reader", name="reader")
        connections.secret_key(home)  # the home's secret.key, as the first stored connection makes it
    finally:
        svc.store.close()
    _proc, url = start_server(home, env=env)
    admin = json.loads((home / "config.json").read_text())["token"]
    api = f"{url}/api/v1"
    r = httpx.post(f"{api}/pipelines/{pipeline_id}/submit", json={"ExperimentName": "steal"},
                   headers={"Authorization": f"Bearer {submitter}"}, timeout=30)
    assert r.status_code == 200, r.text
    run_id = r.json()["Id"]
    read = {"Authorization": f"Bearer {reader}"}
    run = _wait(api, run_id, read)
    log = httpx.get(f"{api}/runs/{run_id}/steps/steal/logs", headers=read, timeout=30).text
    if run["Status"] != "Finished":
        logs = {k: httpx.get(f"{api}/runs/{run_id}/steps/steal/logs", params={"log": k}, headers=read).text
                for k in ("stderr", "execution")}
        pytest.fail(f"the step did not finish: {run.get('Error')} {run['Steps']} {logs}")
    run["metrics"] = httpx.get(f"{api}/runs/{run_id}/steps/steal/metrics", headers=read, timeout=30).json()
    return json.loads(log), run, admin


def _wait(api: str, run_id: str, headers: dict) -> dict:
    import time

    deadline = time.monotonic() + 60
    while True:
        body = httpx.get(f"{api}/runs/{run_id}", headers=headers, timeout=30).json()
        if body["Status"] in ("Finished", "Failed", "Canceled"):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {body['Status']}")
        time.sleep(0.05)


@pytest.mark.parametrize("launch", ["fork", "spawn"])
def test_a_step_finds_no_credentials_in_its_environment(tmp_path, make_services, start_cli_server, launch):
    home = tmp_path / "home"
    db_url = f"sqlite:///{home / 'headrace.db'}"
    key = Fernet.generate_key().decode()
    env = {"HEADRACE_DB_URL": db_url, "HEADRACE_SECRET_KEY": key, "HEADRACE_TOKEN": "hr_server-own-token",
           "HEADRACE_AGENT__STEP_LAUNCH": launch}
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    found, _run, admin = _run_steal(make_services, start_cli_server, home, scripts, by_path=False, env=env)
    assert found["env"].keys() <= {"HEADRACE_RUN_ID", "HEADRACE_STEP_RUN_ID", "HEADRACE_STEP_NAME",
                                   "HEADRACE_EXPERIMENT_NAME", "HEADRACE_DATA_OUT"}, found["env"]
    text = json.dumps(found)
    for secret in (admin, key, db_url, "hr_server-own-token"):
        assert secret not in text
    assert "HEADRACE_HOME" not in found["proc_environ"] and "HEADRACE_DB_URL" not in found["proc_environ"]
    assert found["config.json"].startswith("refused")  # the environment named no home to look in


def test_config_and_secret_key_are_the_owners_only(tmp_path, make_services, start_cli_server):
    home = tmp_path / "home"
    svc = make_services(home)
    svc.store.close()
    connections.secret_key(home)
    (home / "config.json").write_text("{}")
    for name in ("config.json", "secret.key", "headrace.db"):
        os.chmod(home / name, 0o644)  # as an older version or a careless copy left them
    start_cli_server(home)
    for name in ("config.json", "secret.key", "headrace.db"):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name


@pytest.fixture
def step_user():
    """A throwaway OS user (root only), removed after the test."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("running steps as another user needs root and useradd")
    name = f"hrstep{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


def test_a_step_run_as_the_step_user_cannot_read_the_homes_credentials(make_services, start_cli_server, step_user):
    # Not under pytest's tmp_path (mode 0700): the step user must reach its work folder and the Python it runs.
    root = Path(tempfile.mkdtemp(prefix="headrace-step-user-"))
    try:
        os.chmod(root, 0o755)
        home, scripts = root / "home", root / "scripts"
        scripts.mkdir()
        python, path = _python_for(step_user)

        env = {"HEADRACE_AGENT__STEP_USER": step_user, "HEADRACE_AGENT__STEP_PYTHON": python, "PYTHONPATH": path}
        found, run, admin = _run_steal(make_services, start_cli_server, home, scripts, by_path=True, env=env)
        assert found["uid"] != 0
        for name in ("config.json", "secret.key", "headrace.db"):
            assert found[name] == "refused: PermissionError", (name, found[name][:80])
        assert admin not in json.dumps(found)
        # It still did its work: its output folder and its metrics.
        assert run["metrics"]["tried"] == 1
        out = home / "datastores" / "workspaceblobstore" / "headrace" / "runs" / run["Id"] / "steal" / "out"
        assert json.loads((out / "found.json").read_text())["uid"] == found["uid"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _python_for(user: str) -> tuple[str, str]:
    """An interpreter ``user`` may run steps with, and the PYTHONPATH giving it our packages.

    This interpreter when the user can run it; else the system's build of the same Python version (a
    pyenv Python under /root is out of other users' reach): ``HEADRACE_AGENT__STEP_PYTHON`` is for that.
    """
    import site
    import sys

    import headrace

    src = str(Path(headrace.__file__).parents[1])
    path = os.pathsep.join([src, *site.getsitepackages()])
    for python in (sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        try:
            ok = subprocess.run([python, "-c", "import headrace, pydantic, sqlalchemy"], env={"PYTHONPATH": path},
                                capture_output=True, user=user, cwd="/").returncode == 0
        except OSError:  # not there, or not executable by that user
            ok = False
        if ok:
            return python, path
    pytest.fail(f"no Python that user {user} may run with headrace's packages: install Python outside /root")


def test_an_unknown_step_user_is_refused_naming_it(tmp_path):
    from headrace.config import load_settings
    from headrace.errors import ConfigError
    from headrace.wiring import build_services

    with pytest.raises(ConfigError, match="no-such-user-here"):
        build_services(load_settings(home=tmp_path / "home", agent={"step_user": "no-such-user-here"}))


def test_a_flow_step_is_handed_only_the_connections_its_flow_names(tmp_path, make_services):
    svc = make_services(tmp_path / "home")
    try:
        for name in ("llm", "other"):
            connections.create_connection(svc, name, type="openai", base_url=f"http://{name}.invalid/v1",
                                          api_key=f"sk-{name}")
        env = connections.step_connection_env(svc, {connections.FLOW_CONNECTIONS_ENV: "llm,from-env,missing"},
                                              environ={"HEADRACE_CONNECTION_FROM_ENV_BASE_URL": "http://e.invalid/v1",
                                                       "HEADRACE_CONNECTION_LLM_MODEL": "m1"})
    finally:
        svc.store.close()
    assert env == {"HEADRACE_CONNECTION_LLM_TYPE": "openai", "HEADRACE_CONNECTION_LLM_BASE_URL": "http://llm.invalid/v1",
                   "HEADRACE_CONNECTION_LLM_API_KEY": "sk-llm", "HEADRACE_CONNECTION_LLM_MODEL": "m1",
                   "HEADRACE_CONNECTION_FROM_ENV_TYPE": "openai",
                   "HEADRACE_CONNECTION_FROM_ENV_BASE_URL": "http://e.invalid/v1"}
    assert connections.step_connection_env(svc, {}) == {}


def test_work_folders_elsewhere_keep_the_home_out_of_a_steps_sight(make_workspace, write_scripts, tmp_path,
                                                                    monkeypatch):
    from headrace import Experiment

    monkeypatch.setenv("HEADRACE_AGENT__WORK_ROOT", str(tmp_path / "work-elsewhere"))
    workspace = make_workspace()
    folder = write_scripts({"where.py": "import os\nprint(os.getcwd(), os.environ['HEADRACE_CONTEXT_DIR'])\n"})
    step = PythonScriptStep(name="where", script_name="where.py", source_directory=folder)
    run = Experiment(workspace, "where").submit(Pipeline(workspace=workspace, steps=[step]))
    run.wait_for_completion()
    seen = run.find_step_run("where")[0].get_stdout_log()
    assert str(tmp_path / "work-elsewhere") in seen and str(tmp_path / "home") not in seen
