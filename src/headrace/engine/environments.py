"""Materialising step environments: a spec (``core.environment``) becomes a Python interpreter to run with.

``ensure(spec, cache_root, log)`` is the one entry point, called by every compute target before it starts
a step (on the agent, or on a remote worker with that worker's own cache folder). Environments are
content-addressed: the folder is named by the hash of what determines the build (builder, Python version,
pip lines), so a spec is built once per machine and reused by every later step and run. A file lock makes
concurrent requests (threads or processes) wait for the one build; a failed or interrupted build leaves no
ready marker and is retried by the next request.

Builders are pluggable (``EnvironmentBuilder``): the built-in one makes a virtual environment with ``uv``
(``uv venv`` + ``uv pip install``). A conda or container builder would accept the specs it can honour and
be put first with ``register_builder``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from headrace import clock
from headrace.core.environment import needs_build, not_honoured
from headrace.engine.pythons import find_python, uv_binary, uv_env
from headrace.errors import EnvironmentBuildError

__all__ = ["CACHE_FOLDER", "EnvironmentBuilder", "UvVenvBuilder", "builder_for", "ensure", "register_builder"]

CACHE_FOLDER = "environments"
"""The folder under a headrace home where its agent builds environments."""
READY = ".headrace-ready"
"""Marker file written last in a built environment: JSON with the interpreter's path."""
_MESSAGE_LINES = 30  # the resolver's last lines kept in the error message


class EnvironmentBuilder(ABC):
    """Turns a spec into an environment folder holding an interpreter."""

    name: str
    """Short id, part of the content address (a new builder never reuses another's folders)."""

    @abstractmethod
    def accepts(self, spec: Mapping[str, Any]) -> bool:
        """Whether this builder can build ``spec`` (``ensure`` takes the first that accepts)."""

    @abstractmethod
    def key(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """The parts of ``spec`` that determine the built folder (hashed into its name)."""

    @abstractmethod
    def build(self, spec: Mapping[str, Any], folder: Path, cache_root: Path, log: list[str]) -> Path:
        """Build into ``folder`` (absent on entry) and return the interpreter's path.

        Raises:
            EnvironmentBuildError: with the resolver's (or installer's) message.
        """


class UvVenvBuilder(EnvironmentBuilder):
    """A virtual environment made by ``uv venv``, its pip lines installed by ``uv pip install``.

    Conda packages and Docker settings are not applied (named in the build log). headrace's own packages
    stay importable behind the environment's (a ``.pth`` file appends the agent's site-packages when the
    Python versions match), so ``Run.get_context()`` works in the step; a package the environment installs
    wins over the agent's copy.
    """

    name = "uv-venv"

    def accepts(self, spec: Mapping[str, Any]) -> bool:
        return True

    def key(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {"python": spec.get("python"), "pip": list(spec.get("pip") or []), "agent": _agent_purelib()}

    def build(self, spec: Mapping[str, Any], folder: Path, cache_root: Path, log: list[str]) -> Path:
        for what in not_honoured(spec):
            log.append(f"environment: not applied: {what} (no conda channel or image registry is used; "
                       "the pip packages are installed in a virtual environment)")
        base = find_python(spec.get("python"))
        env = uv_env(cache_root)
        _run([uv_binary(), "venv", "--python", str(base), "--no-project", str(folder)], env, log)
        python = folder / "bin" / "python"
        lines = [str(line) for line in spec.get("pip") or []]
        if any(not line.lstrip().startswith("-") for line in lines):
            requirements = folder / "headrace-requirements.txt"
            requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
            _run([uv_binary(), "pip", "install", "--python", str(python), "-r", str(requirements)], env, log)
        _link_agent_packages(python, log)
        return python


_builders: list[EnvironmentBuilder] = [UvVenvBuilder()]
_ready: dict[tuple[str, str], Path] = {}  # (cache root, content address) -> interpreter, for this process
_ready_lock = threading.Lock()


def register_builder(builder: EnvironmentBuilder) -> None:
    """Try ``builder`` before the others (a conda or container builder for the specs it accepts)."""
    _builders.insert(0, builder)


def builder_for(spec: Mapping[str, Any]) -> EnvironmentBuilder:
    """The first registered builder accepting ``spec``."""
    return next(b for b in _builders if b.accepts(spec))


def ensure(spec: Mapping[str, Any], cache_root: Path, log: list[str]) -> Path:
    """The interpreter of ``spec``'s environment, built under ``cache_root`` if it is not there yet.

    Args:
        spec: an environment spec (``EnvironmentDefinition.spec()``, or the ``spec`` of a graph step's
            ``environment`` record).
        cache_root: the folder of this machine's environments (``$HEADRACE_HOME/environments`` on the agent).
        log: lines describing what happened (the build output included) are appended: the step's
            execution log.

    Returns:
        The path of the Python interpreter to run the step with (the agent's own when the spec asks for
        nothing to build).

    Raises:
        EnvironmentBuildError: the packages do not resolve or install (the resolver's message), or the
            Python version asked for is not installed (naming those that are).
    """
    if not needs_build(spec):
        log.append("environment: nothing to install; the agent's Python runs the step")
        return Path(sys.executable)
    builder = builder_for(spec)
    address = _address(builder, spec)
    cache_root = Path(cache_root)
    memo = (str(cache_root), address)
    with _ready_lock:
        known = _ready.get(memo)
    if known is not None and known.exists():
        log.append(f"environment {address[:12]}: ready (built earlier)")
        return known
    folder = cache_root / address
    python = _read_ready(folder)
    if python is None:
        cache_root.mkdir(parents=True, exist_ok=True)
        with _locked(cache_root / f"{address}.lock", log, address):
            python = _read_ready(folder)
            if python is None:
                python = _build(builder, spec, folder, cache_root, log, address)
            else:
                log.append(f"environment {address[:12]}: built meanwhile by another step; reused")
    else:
        log.append(f"environment {address[:12]}: reused from {folder}")
    with _ready_lock:
        _ready[memo] = python
    return python


def _address(builder: EnvironmentBuilder, spec: Mapping[str, Any]) -> str:
    blob = json.dumps({"builder": builder.name, **builder.key(spec)}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _build(builder: EnvironmentBuilder, spec: Mapping[str, Any], folder: Path, cache_root: Path,
           log: list[str], address: str) -> Path:
    if folder.exists():  # an interrupted or failed build
        shutil.rmtree(folder, ignore_errors=True)
    log.append(f"environment {address[:12]}: building with {builder.name} in {folder}")
    t0 = clock.monotonic()
    try:
        python = builder.build(spec, folder, cache_root, log)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    (folder / READY).write_text(json.dumps({"python": str(python)}), encoding="utf-8")
    log.append(f"environment {address[:12]}: built in {clock.monotonic() - t0:.1f}s")
    return python


def _read_ready(folder: Path) -> Path | None:
    try:
        python = Path(json.loads((folder / READY).read_text(encoding="utf-8"))["python"])
    except (OSError, ValueError, KeyError):
        return None
    return python if python.exists() else None


@contextlib.contextmanager
def _locked(path: Path, log: list[str], address: str) -> Iterator[None]:
    """An exclusive lock on ``path``: one build per environment across threads and processes."""
    with open(path, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.append(f"environment {address[:12]}: another step is building it; waiting")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _run(argv: list[str], env: dict[str, str], log: list[str]) -> None:
    log.append("environment: $ " + " ".join(argv))
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
    except OSError as exc:
        raise EnvironmentBuildError(f"could not run {argv[0]}: {exc}") from exc
    output = proc.stdout.decode("utf-8", "replace").splitlines()
    log.extend(f"  {line}" for line in output)
    if proc.returncode != 0:
        tail = "\n".join(line for line in output[-_MESSAGE_LINES:] if line.strip())
        raise EnvironmentBuildError(f"building the environment failed ({Path(argv[0]).name} {argv[1]} exited "
                                    f"with {proc.returncode}):\n{tail}")


def _agent_purelib() -> str:
    return sysconfig.get_paths()["purelib"]


def _link_agent_packages(python: Path, log: list[str]) -> None:
    """Append the agent's site-packages to the environment's path (after its own), same Python only."""
    probe = subprocess.run([str(python), "-c", "import sys, sysconfig; print(sys.version_info[:2] == "
                            f"{tuple(sys.version_info[:2])!r}); print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=False)
    lines = probe.stdout.split("\n")
    if probe.returncode != 0 or len(lines) < 2:
        raise EnvironmentBuildError(f"the new environment's Python does not start: {probe.stderr.strip()}")
    if lines[0].strip() != "True":
        log.append("environment: another Python version than the agent's: headrace's packages are not added "
                   "(list what the step imports in the environment)")
        return
    site = Path(lines[1].strip())
    (site / "_headrace_agent.pth").write_text(f"import site; site.addsitedir({_agent_purelib()!r})\n",
                                              encoding="utf-8")
    log.append("environment: the agent's packages (headrace) are importable after the environment's own")
