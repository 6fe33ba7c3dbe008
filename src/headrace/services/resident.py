"""The resident agent's side of the home's local socket: scripts of the home hand it their runs.

A script's embedded ``Workspace(home)`` finds the socket, says hello (same headrace, same store) and then
submits, reads and waits on runs here; this process's agent executes them. Only the calls a script makes
on its hot path come here (see ``headrace.sdk.resident``); anything else the script reads from the store
itself. One process per home listens: a lock file decides, and a killed listener's lock goes with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import socketserver
import threading
from time import monotonic
from typing import Any

import headrace
from headrace import local_socket
from headrace.errors import ConfigError, HeadraceError
from headrace.logs import get_logger
from headrace.services import compute as compute_service
from headrace.services import datastores as ds_service
from headrace.services import runs as run_service
from headrace.services.bundle import Services

logger = get_logger(__name__)

WAIT_CAP_SECONDS = 5.0  # one wait call blocks at most this long, so a client notices a stop


class _Frozen:
    """A submitted graph, in the shape ``services.runs.freeze_pipeline`` reads (``graph()``)."""

    def __init__(self, graph: dict[str, Any]):
        self._graph = graph

    def graph(self) -> dict[str, Any]:
        return self._graph


class ResidentListener:
    """Serves the local socket of ``svc``'s home while this process runs an agent of it."""

    def __init__(self, svc: Services, db_url: str | None, effective_db_url: str, agent: Any = None):
        self.svc = svc
        self.agent = agent  # told of a cancel at once (it would notice it in the store within 0.5 s)
        self.db_url = db_url  # as configured: None means the home's own SQLite file
        self.effective_db_url = effective_db_url
        self.path = local_socket.socket_path(svc.home)
        self._lock_fd: int | None = None
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._in_flight = 0
        self._lock = threading.Lock()
        self._last_call = monotonic()

    # -- life ----------------------------------------------------------------------------
    def start(self) -> bool:
        """Listen; False (and nothing started) when another process of this home already does."""
        local_socket.prepare_folder(self.path, self.svc.home)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            logger.info("another agent listens on %s: scripts of the home hand their runs to it", self.path)
            return False
        self._lock_fd = fd
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        server = socketserver.ThreadingUnixStreamServer(str(tmp), _handler(self), bind_and_activate=False)
        server.daemon_threads = True
        try:
            server.server_bind()
            os.chmod(tmp, 0o600)  # before the socket is reachable under its name
            server.server_activate()
            os.replace(tmp, self.path)  # a stale socket of a killed listener is replaced
        except OSError:
            server.server_close()
            self._release()
            raise
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="headrace-resident-socket", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop listening; clients waiting on a run are answered at once and go on by themselves."""
        self._stopping.set()
        self.svc.run_events.notify()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._release()

    def idle_seconds(self) -> float:
        """How long no script has called (0 while a call, such as a wait, is in progress)."""
        return 0.0 if self._in_flight else monotonic() - self._last_call

    def _track(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
            self._last_call = monotonic()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # -- calls ---------------------------------------------------------------------------
    def hello(self, version: str, package: str, db_url: str | None) -> dict[str, Any]:
        """Accept a client of the same headrace and the same store; refuse others (they run their own agent)."""
        if (version, package) != (headrace.__version__, headrace.__file__):
            raise ConfigError(f"the agent runs headrace {headrace.__version__} from {headrace.__file__}, "
                              f"the script {version} from {package}")
        if db_url is not None and db_url != self.effective_db_url or db_url is None and self.db_url is not None:
            raise ConfigError("the agent serves another metadata store than the script's")
        return {"home": str(self.svc.home), "pid": os.getpid()}

    def create_experiment(self, name: str) -> Any:
        run_service._check_experiment_name(name)
        return self.svc.store.get_or_create_experiment(name)

    def default_datastore_name(self) -> str:
        return ds_service.default_datastore_name(self.svc)

    def datastore_record(self, name: str) -> Any:
        ds_service.get_datastore(self.svc, name)  # an unknown name: the error lists the registered ones
        return self.svc.store.get_datastore(name)

    def list_compute_targets(self) -> list[Any]:
        return compute_service.list_compute_targets(self.svc)

    def submit_pipeline(self, graph: dict[str, Any], experiment_name: str, **options: Any) -> Any:
        return run_service.submit_pipeline(self.svc, _Frozen(graph), experiment_name, **options)

    def get_run(self, run_id: str) -> Any:
        return self.svc.store.get_run(run_id)

    def cancel_run(self, run_id: str) -> Any:
        run = run_service.cancel_run(self.svc, run_id)
        if self.agent is not None:
            self.agent.cancel(run_id)
        return run

    def wait(self, run_id: str, timeout: float) -> Any:
        """The run once it has ended, or as it is after ``timeout`` seconds (capped), or when this agent stops."""
        events, store = self.svc.run_events, self.svc.store
        deadline = threading.TIMEOUT_MAX if timeout is None else min(float(timeout), WAIT_CAP_SECONDS)
        left = deadline
        while not self._stopping.is_set():
            marker = events.generation
            run = store.get_run(run_id)
            if run.status.is_terminal or left <= 0:
                return run
            started = monotonic()
            events.wait(marker, left)
            left -= monotonic() - started
        return store.get_run(run_id)

    CALLS = frozenset({"hello", "create_experiment", "default_datastore_name", "datastore_record", "list_compute_targets",
                       "submit_pipeline",
                       "get_run", "cancel_run", "wait"})


def _handler(listener: ResidentListener) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            try:
                local_socket.check_peer(sock)
            except OSError as exc:
                logger.warning("refused a connection on %s: %s", listener.path, exc)
                return
            while True:
                try:
                    name, args, kwargs = local_socket.receive(sock)
                except (EOFError, OSError):
                    return
                listener._track(1)
                try:
                    answer = _answer(listener, name, args, kwargs)
                finally:
                    listener._track(-1)
                local_socket.send(sock, answer)

    return Handler


def _answer(listener: ResidentListener, name: str, args: tuple, kwargs: dict) -> tuple[bool, Any]:
    """(True, result) or (False, the exception as ``local_socket.error_message``), which the client raises."""
    if name not in ResidentListener.CALLS:
        return False, local_socket.error_message(ConfigError(f"the agent's socket has no call {name!r}"))
    try:
        return True, getattr(listener, name)(*args, **kwargs)
    except HeadraceError as exc:
        return False, local_socket.error_message(exc)
    except Exception as exc:  # noqa: BLE001 - the script gets the failure, the agent keeps serving
        logger.exception("call %s on the agent's socket failed", name)
        failure = HeadraceError(f"the agent failed to {name.replace('_', ' ')}: {type(exc).__name__}: {exc}")
        return False, local_socket.error_message(failure)

