"""Fixtures shared by every test folder.

- ``clean_environ`` (autouse): no ``HEADRACE_*`` setting leaks in from the caller's shell or out
  of a test (the CLI sets ``HEADRACE_HOME`` itself; ``HEADRACE_TEST_*``, which point the tests at
  test servers, are kept), the working directory is ``tmp_path``, and every local backend (with
  its in-process agent) a test opened is shut down afterwards.
- ``workspace`` / ``make_workspace``: a ``Workspace`` on a fresh home under ``tmp_path``.
- ``write_scripts``: writes step scripts into a new folder under ``tmp_path``.
- ``wait_until``: a bounded poll, so tests wait on conditions and never sleep a fixed time.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loopback import serve_in_thread

POLL_SECONDS = 0.05
TEST_HARNESS_PREFIX = "HEADRACE_TEST_"  # where to find test servers (PostgreSQL, S3...): not a setting, kept


def _wait_until(predicate: Callable[[], object], timeout: float = 20.0, message: str = "") -> object:
    """Poll ``predicate`` every 50 ms until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {message or predicate!r}", pytrace=False)
        time.sleep(POLL_SECONDS)


@pytest.fixture
def wait_until() -> Callable[..., object]:
    """``wait_until(predicate, timeout=20, message="...")``: see ``_wait_until``."""
    return _wait_until


def _open_backends() -> dict:
    """The SDK's per-process cache of local backends (empty if the SDK was never imported)."""
    local = sys.modules.get("headrace.sdk.local")
    return local._backends if local is not None else {}


def _shutdown_backend(backend) -> None:
    """Stop what a local backend started: cancel its unfinished runs, then ``close()`` it (its agent, its
    events dispatcher, its store)."""
    agent = backend._agent
    store = backend.svc.store
    if agent is not None:
        unfinished = [r for r in backend._submitted if not store.get_run(r).status.is_terminal]
        for run_id in unfinished:
            backend.cancel_run(run_id)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(not store.get_run(r).status.is_terminal for r in unfinished):
            time.sleep(POLL_SECONDS)
    backend.close()


def _close_environment_fork_servers() -> None:
    """End the fork servers of step environments: their interpreters lived in a test's folder."""
    launcher = sys.modules.get("headrace.engine.launcher")
    if launcher is None:
        return
    with launcher._shared_lock:
        servers = [launcher._shared.pop(p) for p in list(launcher._shared) if p != sys.executable]
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    saved_env = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("HEADRACE_") and not key.startswith(TEST_HARNESS_PREFIX):
            del os.environ[key]
    root_handlers = list(logging.getLogger().handlers)
    known = set(_open_backends())
    monkeypatch.chdir(tmp_path)
    yield
    try:
        backends = _open_backends()
        for key in [k for k in list(backends) if k not in known]:
            _shutdown_backend(backends.pop(key))
        resident = sys.modules.get("headrace.sdk.resident")
        for backend in list(resident._backends.values()) if resident is not None else []:
            backend._local_backend = None  # closed above, with the other local backends
            backend.close()  # its connections to a test's agent
        _close_environment_fork_servers()
    finally:
        logging.getLogger().handlers[:] = root_handlers
        os.environ.clear()
        os.environ.update(saved_env)


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., object]:
    """``make_workspace(name="home")``: a ``Workspace`` on ``tmp_path/name``, built with the current env.

    Set ``HEADRACE_AGENT__*`` variables (``monkeypatch.setenv``) before calling it.
    """
    from headrace import Workspace

    def make(name: str = "home"):
        return Workspace(tmp_path / name)

    return make


@pytest.fixture
def workspace(make_workspace):
    """A local embedded workspace in ``tmp_path/home`` (its agent is stopped after the test)."""
    return make_workspace()


@pytest.fixture
def write_scripts(tmp_path: Path) -> Callable[..., Path]:
    """``write_scripts({"prep.py": source, ...}, name=None)``: a new folder holding those scripts.

    Sources are dedented; the folder is ``tmp_path/<name or scripts_N>`` and is returned.
    """
    counter = itertools.count()

    def write(files: dict[str, str], name: str | None = None) -> Path:
        folder = tmp_path / (name or f"scripts_{next(counter)}")
        folder.mkdir(parents=True, exist_ok=True)
        for rel, source in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
        return folder

    return write


@pytest.fixture
def serve_app() -> Callable[[Any], contextlib.AbstractContextManager[str]]:
    """``with serve_app(app) as url:`` — see ``serve_in_thread``."""
    return serve_in_thread


# -- progress with the clock (CI): where a slow or stuck run spends its time shows in the log ---------

_PROGRESS_EVERY = int(os.environ.get("HEADRACE_TEST_PROGRESS_EVERY", "0") or 0)
_progress = {"count": 0, "started": time.monotonic()}


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    if not _PROGRESS_EVERY:
        return
    _progress["count"] += 1
    if _progress["count"] % _PROGRESS_EVERY == 0:
        elapsed = time.monotonic() - _progress["started"]
        sys.stderr.write(f"\n[progress] {_progress['count']} tests in {elapsed:.0f}s; last: {nodeid}\n")
        sys.stderr.flush()
