"""Starting step processes: from a warm fork server, or with a plain ``subprocess.Popen``.

A new Python process spends 10-15 ms starting its interpreter before the step's first line;
for short steps that is most of their cost. The fork server (``forkserver_main.py``) is an idle
interpreter that has paid it once: each step is a fork of it, set up like ``python script.py``
(own session, cwd, environment, ``sys.argv``, ``sys.path[0]``, ``__main__``, exit code, atexit,
non-daemon threads joined). Differences a step could notice, and when we fall back to ``Popen``:

- Settings the interpreter reads only at start-up (``PYTHON*`` variables such as ``PYTHONPATH``
  or ``PYTHONHASHSEED``, and the dynamic loader's ``LD_*``) come from the server's start: a step
  whose environment differs from it in any of them is started with ``Popen``.
- Steps forked from one server share its string-hash seed, and modules the server imported (a
  few of the standard library's) are already in ``sys.modules``.

Each interpreter gets its own server: the agent's, and the one of every step environment (a virtual
environment built by ``engine.environments``), started the first time a step runs in it.

``HEADRACE_AGENT__STEP_LAUNCH=spawn`` turns the fork server off.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from headrace.errors import HeadraceError
from headrace.logs import get_logger

logger = get_logger(__name__)

_SERVER_SCRIPT = str(Path(__file__).with_name("forkserver_main.py"))
LAUNCH_TIMEOUT = 60.0
"""Seconds a fork server may take to set a step's process up before it is given up for stuck (the step
then starts with ``Popen``): a launch never blocks its run for ever."""
_STARTUP_PREFIXES = ("PYTHON", "LD_")


class LaunchError(HeadraceError):
    """A step process could not be set up (bad working folder, unreadable script, ...)."""


class ForkedProcess:
    """A step process forked by the server: the part of ``Popen`` the compute target uses."""

    def __init__(self, pid: int, exited: Future[int]):
        self.pid = pid
        self._exited = exited
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._exited.done():
            self.returncode = self._exited.result()
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self._exited.result()
        return self.returncode


class ForkServer:
    """One fork server process and the thread reading its replies.

    Raises (``launch``):
        LaunchError: the child could not be set up; OSError: the server is gone.
    """

    def __init__(self, env: dict[str, str], python: str = sys.executable):
        self.python = python
        self.env = dict(env, PYTHONUNBUFFERED="1")
        self._startup = _startup_settings(self.env)
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [python, _SERVER_SCRIPT, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                env=self.env, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            theirs.close()
        self._sock = ours
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._replies: dict[int, Future[dict[str, Any]]] = {}
        self._exits: dict[int, Future[int]] = {}
        self.alive = True
        self._closing = False
        threading.Thread(target=self._read, name="forkserver-reader", daemon=True).start()

    def accepts(self, env: dict[str, str]) -> bool:
        """True when a step with this environment behaves as if started fresh."""
        return self.alive and _startup_settings(env) == self._startup

    def launch(self, argv: list[str], cwd: Path, env: dict[str, str], stdout: Path, stderr: Path) -> ForkedProcess:
        req_id = next(self._ids)
        reply: Future[dict[str, Any]] = Future()
        with self._lock:
            if not self.alive:
                raise OSError("the step fork server has exited")
            self._replies[req_id] = reply
            self._sock.sendall((json.dumps({"id": req_id, "argv": argv, "cwd": str(cwd), "env": env,
                                            "stdout": str(stdout), "stderr": str(stderr)}) + "\n").encode())
        try:
            answer = reply.result(timeout=LAUNCH_TIMEOUT)
        except TimeoutError:
            self._give_up()
            raise OSError(f"the step fork server did not answer within {LAUNCH_TIMEOUT:g} s") from None
        if "pid" not in answer:
            raise OSError(answer.get("error") or "the step fork server has exited")
        exited: Future[int] = answer["exited"]
        if "error" in answer:
            exited.result()  # the child exited at once (127): reap it before reporting
            raise LaunchError(f"could not start the step process: {answer['error']}")
        return ForkedProcess(answer["pid"], exited)

    def close(self) -> None:
        """End the server (running steps go on); it also ends by itself when this process dies."""
        with self._lock:
            self.alive = False
            self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def _give_up(self) -> None:
        """A stuck server: kill it (its children have their own sessions and go on) and let the reader
        thread fail what waits on it; the next step starts a new one."""
        with self._lock:
            self.alive = False
        try:
            self._proc.kill()
        except OSError:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read(self) -> None:
        buf = b""
        try:
            while data := self._sock.recv(1 << 16):
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._dispatch(json.loads(line))
        except OSError:
            pass
        finally:
            self._lost()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        with self._lock:
            if "exit" in msg:
                exited = self._exits.pop(msg["exit"], None)
                if exited is not None:
                    exited.set_result(msg["code"])
                return
            if "pid" in msg:  # made here: the exit of this pid is always read after this reply
                msg["exited"] = self._exits[msg["pid"]] = Future()
            reply = self._replies.pop(msg["id"])
        reply.set_result(msg)

    def _lost(self) -> None:
        """The server is gone: nothing it started can be waited for through it any more."""
        with self._lock:
            self.alive = False
            pending = list(self._replies.values()) + list(self._exits.values())
            self._replies.clear()
            self._exits.clear()
        for fut in pending:
            if not fut.done():
                fut.set_exception(OSError("the step fork server exited while the step ran"))
        self._sock.close()
        if not self._closing:
            logger.warning("the step fork server exited; the next step starts a new one")


_shared: dict[str, ForkServer] = {}
_shared_lock = threading.Lock()


def shared_server(python: str | None = None) -> ForkServer:
    """This process's fork server for ``python`` (default: this interpreter), started on first use (again
    if it died).

    One per interpreter and process, whichever homes or compute targets use it: requests carry
    everything. A step environment's interpreter (a virtual environment) gets its own warm server.

    Raises:
        OSError: the server process cannot be started.
    """
    python = python or sys.executable
    with _shared_lock:
        server = _shared.get(python)
        if server is None or not server.alive:
            # Without the agent's HEADRACE_* variables: a forked step could read them back from
            # /proc/self/environ (the server's original environment) even after its own is set.
            server = _shared[python] = ForkServer(
                {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}, python)
            atexit.register(server.close)
        return server


def _startup_settings(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_STARTUP_PREFIXES)}
