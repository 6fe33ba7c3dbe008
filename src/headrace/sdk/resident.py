"""A script's side of its home's resident agent: ``Workspace(home)`` hands its runs to the agent.

When ``headrace agent`` serves a home, a script's embedded workspace need not start an agent of its own:
it submits, reads and waits on runs through the agent's local socket (``headrace.local_socket``), so the
script imports neither SQLAlchemy nor the engine and waits without polling. Every other call is served
as before, by a local backend the script opens on first use. If the agent goes away, the script carries
on with its own agent (which takes over the runs the agent left, as for any agent that died).
"""

from __future__ import annotations

import os
import pickle
import socket
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import headrace
from headrace import local_socket
from headrace.errors import HeadraceError, RunError

WAIT_SECONDS = 0.5  # one wait call: the agent answers at once when the run ends


_backends: dict[tuple[int, Path, str | None], ResidentBackend] = {}
_backends_lock = threading.Lock()


def connect(home: Any, db_url: str | None) -> ResidentBackend | None:
    """The backend through the resident agent of ``home``, or None when none listens or it refuses this script
    (another headrace, another store): the caller then opens the home itself. One per home in a process."""
    if os.environ.get("HEADRACE_RESIDENT", "").lower() in ("0", "false", "no", "off"):
        return None
    home_path = Path(home or os.environ.get("HEADRACE_HOME") or ".headrace").expanduser().resolve()
    db_url = db_url or os.environ.get("HEADRACE_DB_URL") or None
    key = (os.getpid(), home_path, db_url)
    with _backends_lock:
        backend = _backends.get(key)
        if backend is not None and backend.resident:
            return backend
        path = local_socket.socket_path(home_path)
        backend = _hello(path, home_path, db_url) if path.exists() else None
        if backend is None and _auto() and _start_agent(home_path, path):  # none, or a killed one's socket
            backend = _hello(path, home_path, db_url)
        if backend is not None:
            _backends[key] = backend
        return backend


def _hello(path: Path, home: Path, db_url: str | None) -> ResidentBackend | None:
    backend = ResidentBackend(path, home, db_url)
    try:
        backend.call("hello", headrace.__version__, headrace.__file__, db_url)
    except (ConnectionError, HeadraceError):
        backend._close_connections()
        return None
    return backend


def _auto() -> bool:
    return os.environ.get("HEADRACE_AGENT__RESIDENT", "").strip().lower() == "auto"


def _start_agent(home: Path, path: Path) -> bool:
    """Start ``headrace agent`` for ``home`` in the background (``HEADRACE_AGENT__RESIDENT=auto``) and wait for its
    socket; False (the script runs its own agent) if it did not come up. One script starts it: the others wait."""
    import fcntl
    import time

    try:
        home.mkdir(parents=True, exist_ok=True)
        local_socket.prepare_folder(path, home)
        lock = os.open(f"{path}.start", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a script starting it at the same moment waits here, then finds it
        if path.exists() and _answers(path):
            return True
        idle = os.environ.get("HEADRACE_AGENT__RESIDENT_IDLE_SECONDS", "600")
        log_path = home / "agent.log"
        # posix_spawn, not Popen: the agent outlives this script, and a Popen object would warn when collected.
        pid = os.posix_spawn(
            sys.executable, [sys.executable, "-m", "headrace", "agent", "--home", str(home), "--idle-exit", idle],
            os.environ, setsid=True, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(log_path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            if path.exists() and _answers(path):
                return True
            time.sleep(0.02)
        print(f"headrace: the agent started for {home} did not come up (see {log_path}); this process runs its "
              "own agent", file=sys.stderr, flush=True)
        return False
    finally:
        os.close(lock)


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


class ResidentBackend:
    """The SDK backend of an embedded workspace whose home has a resident agent (see the module's docstring)."""

    is_local = True

    def __init__(self, path: Path, home: Path, db_url: str | None):
        self._path = path
        self._home = home
        self._db_url = db_url
        self._gone = False
        self._idle: list[socket.socket] = []  # one connection per call in flight; idle ones are kept
        self._lock = threading.Lock()
        self._local_backend: Any = None
        self._waiting = threading.local()

    @property
    def home(self) -> Path:
        return self._home

    @property
    def resident(self) -> bool:
        """Whether calls still go to the resident agent (False once it went away)."""
        return not self._gone

    def _connection(self) -> socket.socket:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(self._path))
            local_socket.check_peer(sock)
        except OSError:
            sock.close()
            raise
        return sock

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the agent; raises what it raised. A lost agent: ``ConnectionError``, and later calls go local."""
        if self._gone:
            raise ConnectionError("the resident agent went away")
        try:
            sock = self._connection()
        except OSError as exc:
            self._lost(name, exc)
        try:
            local_socket.send(sock, (name, args, kwargs))
            ok, value = local_socket.receive(sock)
        except (OSError, EOFError) as exc:
            sock.close()
            self._lost(name, exc)
        except BaseException:  # e.g. an argument that cannot be pickled, or Ctrl+C mid-call: the connection is unusable
            sock.close()
            raise
        with self._lock:
            self._idle.append(sock)
        if not ok:
            raise local_socket.rebuild_error(value)
        return value

    def _lost(self, name: str, exc: BaseException) -> NoReturn:
        with self._lock:
            was_gone, self._gone = self._gone, True
        self._close_connections()
        if name != "hello" and not was_gone:
            print(f"headrace: the agent of {self._home} went away ({exc}); this process goes on with an agent "
                  "of its own", file=sys.stderr, flush=True)
        raise ConnectionError(str(exc)) from exc

    def _local(self) -> Any:
        """The home opened in this process (SQLAlchemy and all), for every call the agent does not serve."""
        if self._local_backend is None:
            from headrace.config import load_settings
            from headrace.sdk.local import local_backend

            self._local_backend = local_backend(load_settings(home=self._home, db_url=self._db_url))
        return self._local_backend

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._local(), name)

    def _either(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self._gone:
            try:
                return self.call(name, *args, **kwargs)
            except ConnectionError:
                pass
        return getattr(self._local(), name)(*args, **kwargs)

    # -- what a script calls on its way: served by the agent ----------------------------
    def create_experiment(self, name: str) -> Any:
        return self._either("create_experiment", name)

    def default_datastore_name(self) -> str:
        return self._either("default_datastore_name")

    def datastore_record(self, name: str) -> Any:
        return self._either("datastore_record", name)

    def list_compute_targets(self) -> list[Any]:
        return self._either("list_compute_targets")

    def datastore(self, name: str) -> Any:
        """The datastore's implementation, opened in this process when first used (building a ``PipelineData``
        on it needs only its name)."""
        return _LazyDatastore(self, name)

    def submit_pipeline(self, pipeline: Any, experiment_name: str, **options: Any) -> Any:
        if self._gone:
            return self._local().submit_pipeline(pipeline, experiment_name, **options)
        graph = pipeline.graph()  # a definition error is raised here, before anything reaches the agent
        portable = _portable(options)
        if portable is None:  # a value only this process can hold (a dataset bound to this workspace...)
            return self._local().submit_pipeline(pipeline, experiment_name, **options)
        try:
            return self.call("submit_pipeline", graph, experiment_name, **portable)
        except ConnectionError:
            # Not known whether the agent recorded it: an agent that died is taken over with its runs, and
            # submitting again could run the pipeline twice. Say so rather than guess.
            raise RunError(
                f"the agent of {self._home} went away while the run was being submitted: see `headrace run list` "
                "whether it was recorded before submitting again") from None

    def get_run(self, run_id: str) -> Any:
        return self._either("get_run", run_id)

    def cancel_run(self, run_id: str) -> Any:
        return self._either("cancel_run", run_id)

    # -- waiting -------------------------------------------------------------------------
    def wait_interval(self) -> float:
        return WAIT_SECONDS

    def before_wait(self, run_id: str) -> None:
        self._waiting.run_id = run_id
        if self._gone:
            self._local().before_wait(run_id)

    def change_marker(self) -> int:
        return self._local().change_marker() if self._gone else 0

    def wait_for_change(self, since: int, timeout: float) -> None:
        """Block until the awaited run ends (the agent answers at once) or ``timeout``. Once the agent is gone,
        this process's own agent takes the run over (as any agent takes over a dead agent's runs)."""
        run_id = getattr(self._waiting, "run_id", None)
        if not self._gone and run_id is not None:
            try:
                self.call("wait", run_id, timeout)
                return
            except ConnectionError:
                pass
        if run_id is not None:
            self._local().before_wait(run_id)
        self._local().wait_for_change(since, timeout)

    def now(self) -> Any:
        from headrace import clock

        return clock.now()

    def _close_connections(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def close(self) -> None:
        self._close_connections()
        with _backends_lock:
            for key in [k for k, b in _backends.items() if b is self]:
                del _backends[key]
        if self._local_backend is not None:
            self._local_backend.close()


def _portable(options: dict[str, Any]) -> dict[str, Any] | None:
    """``options`` as they can cross the socket (a ``DataPath`` without its workspace), or None when they cannot."""
    from headrace.core.params import DataPath

    params = options.get("pipeline_parameters")
    if params:
        plain = {k: DataPath(v.datastore_name, v.path_on_datastore, v.name)
                 if isinstance(v, DataPath) and v.datastore is not None else v for k, v in params.items()}
        options = {**options, "pipeline_parameters": plain}
    try:
        pickle.dumps(options)
    except Exception:  # noqa: BLE001 - whatever pickling refuses (locks, sockets, open files) stays in-process
        return None
    return options


class _LazyDatastore:
    """A datastore implementation opened from the home on first use."""

    def __init__(self, backend: ResidentBackend, name: str):
        self._backend = backend
        self._name = name
        self._impl: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        if self._impl is None:
            self._impl = self._backend._local().datastore(self._name)
        return getattr(self._impl, attribute)
