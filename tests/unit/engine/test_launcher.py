"""The step fork server: a forked step behaves like ``python script.py`` (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.engine.launcher import ForkServer, LaunchError

PROBE = """\
import json, os, sys
import __main__
print(json.dumps({
    "name": __name__, "file": __file__, "argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd(),
    "env": os.environ.get("STEP_VALUE"), "session_leader": os.getsid(0) == os.getpid(),
    "main_is_module": __main__.__dict__ is globals(), "stdin": sys.stdin.read(),
}))
"""


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    srv = ForkServer(dict(os.environ))
    yield srv
    srv.close()


def _launch(server: ForkServer, tmp_path: Path, source: str, args: tuple[str, ...] = (), **env: str):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "step.py").write_text(textwrap.dedent(source), encoding="utf-8")
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    out.write_bytes(b"")
    err.write_bytes(b"")
    full_env = dict(server.env, **env)
    proc = server.launch(["step.py", *args], src, full_env, out, err)
    return proc, out, err


def _plain(tmp_path: Path, source: str, args: tuple[str, ...] = (), **env: str) -> subprocess.CompletedProcess:
    src = tmp_path / "plain"
    src.mkdir(exist_ok=True)
    (src / "step.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run([sys.executable, "step.py", *args], cwd=src, env=dict(os.environ, **env),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_a_forked_step_sees_what_a_plain_process_sees(server: ForkServer, tmp_path: Path) -> None:
    proc, out, err = _launch(server, tmp_path, PROBE, ("--x", "1"), STEP_VALUE="42")
    assert proc.wait() == 0, err.read_text()
    forked = json.loads(out.read_text())
    plain = json.loads(_plain(tmp_path, PROBE, ("--x", "1"), STEP_VALUE="42").stdout)
    assert forked["name"] == plain["name"] == "__main__"
    assert forked["argv"] == plain["argv"] == ["step.py", "--x", "1"]
    assert forked["file"] == str(tmp_path / "src" / "step.py") and plain["file"] == str(tmp_path / "plain" / "step.py")
    assert forked["path0"] == str(tmp_path / "src") and plain["path0"] == str(tmp_path / "plain")
    assert forked["cwd"] == str(tmp_path / "src")
    assert forked["env"] == "42"
    assert forked["session_leader"] is True  # its own session: the agent kills its group
    assert forked["main_is_module"] is True
    assert forked["stdin"] == ""


@pytest.mark.parametrize(
    ("source", "code", "in_stderr"),
    [
        ("import sys\nsys.exit(3)\n", 3, None),
        ("raise SystemExit('bad input file')\n", 1, "bad input file"),
        ("def f():\n    raise ValueError('boom')\nf()\n", 1, "ValueError: boom"),
        ("pass\n", 0, None),
    ],
)
def test_exit_codes_and_tracebacks_match_python(server: ForkServer, tmp_path: Path, source: str, code: int,
                                                in_stderr: str | None) -> None:
    proc, _out, err = _launch(server, tmp_path, source)
    assert proc.wait() == code
    assert _plain(tmp_path, source).returncode == code
    text = err.read_text()
    if in_stderr:
        assert in_stderr in text
    if "Traceback" in text:  # the step's own frames only, as python prints them
        assert "forkserver_main" not in text
        assert 'step.py", line 3, in <module>' in text


def test_atexit_threads_and_buffered_output_complete(server: ForkServer, tmp_path: Path) -> None:
    proc, out, _err = _launch(server, tmp_path, """\
        import atexit, threading, time, sys
        atexit.register(lambda: print("atexit ran"))
        def later():
            time.sleep(0.2)
            print("thread finished")
        threading.Thread(target=later).start()
        sys.stdout.write("no newline")
    """)
    assert proc.wait() == 0
    text = out.read_text()
    assert "thread finished" in text and text.endswith("atexit ran\n") and text.startswith("no newline")


def test_killed_by_a_signal_reports_minus_the_signal(server: ForkServer, tmp_path: Path) -> None:
    proc, _out, _err = _launch(server, tmp_path, "import time\ntime.sleep(60)\n")
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def test_a_child_that_cannot_be_set_up_is_a_launch_error(server: ForkServer, tmp_path: Path) -> None:
    out, err = tmp_path / "o", tmp_path / "e"
    out.write_bytes(b"")
    err.write_bytes(b"")
    with pytest.raises(LaunchError, match="FileNotFoundError"):
        server.launch(["step.py"], tmp_path / "no-such-folder", dict(server.env), out, err)
    proc, _, _ = _launch(server, tmp_path, "pass\n")  # the server goes on
    assert proc.wait() == 0


def test_startup_variables_decide_whether_a_fork_is_faithful(server: ForkServer) -> None:
    assert server.accepts(dict(server.env, ANYTHING="x"))
    assert not server.accepts(dict(server.env, PYTHONPATH="/elsewhere"))
    assert not server.accepts(dict(server.env, LD_LIBRARY_PATH="/opt/lib"))
    assert not server.accepts({k: v for k, v in server.env.items() if k != "PYTHONUNBUFFERED"})


def test_a_server_that_dies_fails_its_waiters_and_refuses_new_work(tmp_path: Path) -> None:
    srv = ForkServer(dict(os.environ))
    proc, _out, _err = _launch(srv, tmp_path, "import time\ntime.sleep(60)\n")
    srv._proc.kill()
    with pytest.raises(OSError, match="fork server exited"):
        proc.wait()
    os.killpg(proc.pid, signal.SIGKILL)
    assert not srv.alive
    with pytest.raises(OSError):
        _launch(srv, tmp_path, "pass\n")
    srv.close()


def test_a_server_that_never_answers_is_given_up_and_the_launch_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from headrace.engine import launcher

    stuck = tmp_path / "stuck-python"  # an "interpreter" that starts and never reads its socket
    stuck.write_text("#!/bin/sh\nexec sleep 600\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(launcher, "LAUNCH_TIMEOUT", 0.5)
    srv = ForkServer(dict(os.environ), python=str(stuck))
    with pytest.raises(OSError, match="did not answer within 0.5 s"):
        _launch(srv, tmp_path, "pass\n")
    assert not srv.alive
    assert srv._proc.wait(timeout=10) == -signal.SIGKILL
    srv.close()
