"""A local step's OS process: forked from a warm interpreter, spawned, or spawned as another user; always in
its own session, so the step and whatever it starts are killed as one process group."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import BinaryIO

from headrace.engine.launcher import ForkedProcess, shared_server
from headrace.engine.staging import StagedStep
from headrace.errors import ComputeError, ConfigError
from headrace.logs import get_logger

__all__ = ["TAIL_BYTES", "kill_group", "start", "step_user", "tail", "time_out"]

logger = get_logger(__name__)

TAIL_BYTES = 4000


def start(argv: list[str], env: dict[str, str], staged: StagedStep, out: BinaryIO, err: BinaryIO, log: list[str],
          *, launch: str, step_python: str,
          user: pwd.struct_passwd | None) -> subprocess.Popen[bytes] | ForkedProcess:
    """The step's process, in its own session (its group id is its pid): forked when it can be.

    ``launch`` is the target's ``step_launch``; a process for another ``user`` is always spawned.
    """
    if user is not None:
        return _start_as_user(argv, env, staged, out, err, log, user)
    if launch == "fork" and (argv[0] == sys.executable or argv[0] != step_python):
        try:
            server = shared_server(argv[0])
            if server.accepts(env):
                proc = server.launch(argv[1:], staged.src, env, Path(out.name), Path(err.name))
                log.append("process forked from the warm step interpreter (step_launch=fork)")
                return proc
            log.append("process spawned: its PYTHON*/LD_* variables differ from the warm interpreter's")
        except OSError as exc:
            logger.warning("step fork server unavailable (%s); starting the step with Popen", exc)
            log.append(f"process spawned: the warm step interpreter is unavailable ({exc})")
    return subprocess.Popen(argv, cwd=staged.src, env=env, stdout=out, stderr=err,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _start_as_user(argv: list[str], env: dict[str, str], staged: StagedStep, out: BinaryIO, err: BinaryIO,
                   log: list[str], user: pwd.struct_passwd) -> subprocess.Popen[bytes]:
    # The step writes in its work folder (cwd, outputs, metrics) and its in-place outputs, nowhere else.
    for folder in (staged.workdir, *staged.in_place.values()):
        _chown_tree(folder, user.pw_uid, user.pw_gid)
    log.append(f"process spawned as user {user.pw_name} (uid {user.pw_uid}; step_user)")
    try:
        return subprocess.Popen(argv, cwd=staged.src, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True, user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    except PermissionError as exc:
        raise ComputeError(f"step user {user.pw_name!r} may not run {argv[0]} in {staged.src} ({exc.strerror}): "
                           "install Python (and headrace) where that user can read them, and let it enter "
                           "the home's folders") from exc


def step_user(name: str) -> pwd.struct_passwd:
    """The OS user steps run as (``HEADRACE_AGENT__STEP_USER``).

    Raises:
        ConfigError: the user does not exist, or this process may not switch to it.
    """
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(f"step user {name!r} does not exist (HEADRACE_AGENT__STEP_USER): create it with "
                          f"`useradd --system {name}` or unset the setting") from None
    if os.geteuid() != 0 and user.pw_uid != os.geteuid():
        raise ConfigError(f"running steps as {name!r} (HEADRACE_AGENT__STEP_USER) needs the agent to run as root")
    return user


def _chown_tree(folder: Path, uid: int, gid: int) -> None:
    os.chown(folder, uid, gid)
    for root, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def tail(f: BinaryIO, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes written to ``f``, read without moving its offset (which a process
    the step left behind may share and still write at)."""
    try:
        size = os.fstat(f.fileno()).st_size
        return os.pread(f.fileno(), limit, max(0, size - limit)).decode("utf-8", "replace")
    except OSError:
        return ""


def time_out(proc: subprocess.Popen[bytes] | ForkedProcess, flag: threading.Event) -> None:
    """Kill a step that is still running when its timeout fires, and say so in ``flag``."""
    if proc.poll() is None:
        flag.set()
        kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes] | ForkedProcess) -> None:
    """Kill the step's process group (the step and everything it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
