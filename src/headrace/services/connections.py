"""LLM connections of a workspace: stored with their API keys encrypted, never handed back.

Keys are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under the workspace's secret
key: ``HEADRACE_SECRET_KEY`` when set (a Fernet key: 32 url-safe base64-encoded bytes), else the file
``$HEADRACE_HOME/secret.key``, created with mode 0600 on first use. The metadata store only ever holds the
encrypted token, so a copied database (or a PostgreSQL dump) reveals no key without the secret key.

What callers see is a ``ConnectionView``: every field but the key, plus whether one is set. Only
``load_connection`` (used by ``llm_runner`` to make calls) decrypts.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.errors import ConfigError, NotFoundError
from headrace.flows.connections import Connection, apply_env_overrides, connection_from_env, env_prefix
from headrace.services.bundle import Services
from headrace.storage.records import ConnectionRecord

if TYPE_CHECKING:  # both are imported on use: a pipeline run needs neither (~0.1 s of start-up)
    from cryptography.fernet import Fernet

    from headrace.flows.llm_node import OpenAIRunner

__all__ = [
    "FLOW_CONNECTIONS_ENV",
    "SECRET_KEY_ENV",
    "SECRET_KEY_FILE",
    "ConnectionView",
    "connection_lookup",
    "create_connection",
    "delete_connection",
    "get_connection",
    "list_connections",
    "llm_runner",
    "load_connection",
    "secret_key",
    "step_connection_env",
]

SECRET_KEY_ENV = "HEADRACE_SECRET_KEY"
"""Environment variable holding the Fernet key (takes precedence over the file)."""

SECRET_KEY_FILE = "secret.key"
"""The key file's name in the workspace home (mode 0600)."""

FLOW_CONNECTIONS_ENV = "HEADRACE_FLOW_CONNECTIONS"
"""A step variable naming (comma-separated) the connections a flow step uses: the agent hands it those, and
only those, as ``HEADRACE_CONNECTION_<NAME>_*`` variables (``step_connection_env``)."""

_HINT = "create it with `headrace connection create NAME --type openai --base-url URL --api-key -`"


@dataclass(frozen=True)
class ConnectionView:
    """A connection as shown to users: no key, only whether one is stored."""

    name: str
    type: str
    base_url: str
    has_api_key: bool
    api_version: str | None
    context_size: int | None
    model: str | None
    created_at: Any
    updated_at: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "base_url": self.base_url, "has_api_key": self.has_api_key,
                "api_version": self.api_version, "context_size": self.context_size, "model": self.model,
                "created_at": self.created_at, "updated_at": self.updated_at, "extra": self.extra}


def _view(record: ConnectionRecord) -> ConnectionView:
    return ConnectionView(record.name, record.type, record.base_url, bool(record.secret), record.api_version,
                          record.context_size, record.model, record.created_at, record.updated_at,
                          dict(record.extra))


def secret_key(home: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The workspace's Fernet key: ``HEADRACE_SECRET_KEY``, else ``home/secret.key`` (created 0600 if missing).

    Raises:
        ConfigError: the key is not a valid Fernet key, or the file cannot be read or created.
    """
    environ = os.environ if environ is None else environ
    given = environ.get(SECRET_KEY_ENV)
    if given:
        return _checked(given.strip().encode("ascii", "replace"), SECRET_KEY_ENV)
    path = Path(home) / SECRET_KEY_FILE
    if not path.exists():
        _create_key_file(path)
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except OSError as exc:
        raise ConfigError(f"cannot read the secret key {path}: {exc}") from exc


def _create_key_file(path: Path) -> None:
    """Write a new key beside ``path`` (0600), then link it in: atomic, and the first of racing creators wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            from cryptography.fernet import Fernet

            f.write(Fernet.generate_key())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot create the secret key {path}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _checked(key: bytes, where: str) -> bytes:
    from cryptography.fernet import Fernet

    try:
        Fernet(key)
    except ValueError:
        raise ConfigError(f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); make one with "
                          "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                          ) from None
    return key


def _fernet(svc: Services) -> Fernet:
    from cryptography.fernet import Fernet

    return Fernet(secret_key(svc.home))


def create_connection(svc: Services, name: str, *, type: str, base_url: str,  # noqa: A002
                      api_key: str | None = None, api_version: str | None = None, context_size: int | None = None,
                      model: str | None = None, extra: dict[str, Any] | None = None,
                      secrets: dict[str, str] | None = None, replace: bool = False) -> ConnectionView:
    """Store a connection, its key encrypted.

    Args:
        svc: the workspace's services.
        name: the name flows use (``connection: NAME``).
        type: ``openai``, ``azure_openai`` or ``local``.
        base_url: the API root.
        api_key: the key (None or empty: no key, e.g. a local server).
        api_version: Azure's ``api-version``.
        context_size: the model's context window, in tokens.
        model: the default model (or Azure deployment).
        extra: other settings (``model_path`` of a local GGUF file; ``configs`` of a ``custom`` connection).
        secrets: a ``custom`` connection's secrets, encrypted like the key (prompt flow's custom connection).
        replace: overwrite an existing connection of that name instead of failing.

    Returns:
        The stored connection, without its key.

    Raises:
        ConfigError: an invalid field (all problems listed).
        AlreadyExistsError: the name is taken and ``replace`` is False.
    """
    conn = Connection(name=name, type=type, base_url=base_url, api_key=api_key or "", api_version=api_version,
                      context_size=context_size, model=model, extra=dict(extra or {}),
                      secrets={str(k): str(v) for k, v in (secrets or {}).items()}).validate()
    if conn.secrets and conn.type != "custom":
        raise ConfigError(f"connection {name!r}: only custom connections have secrets (this one is {conn.type})")
    # A custom connection's token holds its secrets (and key) as JSON; the others', the key alone.
    plain = json.dumps({"api_key": conn.api_key, "secrets": conn.secrets}) if conn.type == "custom" else conn.api_key
    secret = _fernet(svc).encrypt(plain.encode("utf-8")).decode("ascii") if conn.api_key or conn.secrets else None
    now = clock.now()
    record = ConnectionRecord(name=conn.name, type=conn.type, base_url=conn.base_url, created_at=now,
                              updated_at=now, secret=secret, api_version=conn.api_version,
                              context_size=conn.context_size, model=conn.model, extra=conn.extra)
    if replace:
        with contextlib.suppress(NotFoundError):
            svc.store.get_connection(name)
            return _view(svc.store.update_connection(
                name, type=record.type, base_url=record.base_url, updated_at=now, secret=secret,
                api_version=record.api_version, context_size=record.context_size, model=record.model,
                extra=record.extra))
    return _view(svc.store.create_connection(record))


def list_connections(svc: Services) -> list[ConnectionView]:
    """Every connection, by name, without keys."""
    return [_view(r) for r in svc.store.list_connections()]


def get_connection(svc: Services, name: str) -> ConnectionView:
    """One connection, without its key. Raises: NotFoundError (with how to create it)."""
    return _view(_record(svc, name))


def delete_connection(svc: Services, name: str) -> None:
    """Raises: NotFoundError."""
    try:
        svc.store.delete_connection(name)
    except NotFoundError:
        raise NotFoundError("connection", name, _known(svc)) from None


def _known(svc: Services) -> str:
    names = [r.name for r in svc.store.list_connections()]
    return f"known: {', '.join(names)}" if names else _HINT


def _record(svc: Services, name: str) -> ConnectionRecord:
    try:
        return svc.store.get_connection(name)
    except NotFoundError:
        raise NotFoundError("connection", name, _known(svc)) from None


def load_connection(svc: Services, name: str) -> Connection:
    """The connection with its key decrypted, for making calls. Never return this to a client.

    Raises:
        NotFoundError: no such connection.
        ConfigError: the key cannot be decrypted (the secret key changed since it was stored).
    """
    from cryptography.fernet import InvalidToken

    record = _record(svc, name)
    api_key, secrets = "", {}
    if record.secret:
        try:
            api_key = _fernet(svc).decrypt(record.secret.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError(
                f"cannot decrypt the API key of connection {name!r}: the secret key ({SECRET_KEY_ENV} or "
                f"{svc.home / SECRET_KEY_FILE}) is not the one it was stored with; restore that key, or re-create "
                "the connection with `headrace connection create ... --replace`"
            ) from None
    if record.type == "custom" and api_key:
        stored = json.loads(api_key)
        api_key, secrets = stored.get("api_key", ""), dict(stored.get("secrets") or {})
    return Connection(name=record.name, type=record.type, base_url=record.base_url, api_key=api_key,
                      api_version=record.api_version, context_size=record.context_size, model=record.model,
                      extra=dict(record.extra), secrets=secrets)


def connection_lookup(svc: Services) -> Callable[[str], Connection]:
    """``name -> Connection`` over the workspace's stored connections (what ``OpenAIRunner`` takes)."""
    return lambda name: load_connection(svc, name)


def llm_runner(svc: Services, **options: Any) -> OpenAIRunner:
    """The LLM runner of a workspace: its stored connections, overridable from the environment.

    Args:
        svc: the workspace's services.
        **options: passed to ``OpenAIRunner`` (``retry``, ``timeouts``, ``environ``, ``sleep``).
    """
    from headrace.flows.llm_node import OpenAIRunner

    return OpenAIRunner(connection_lookup(svc), **options)


def step_connection_env(svc: Services, step_env: Mapping[str, str],
                        environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables handing a step the connections its ``FLOW_CONNECTIONS_ENV`` names, keys decrypted.

    A step gets no store, home or secret key: only the connections it uses, each as the stored connection
    with the agent's own ``HEADRACE_CONNECTION_<NAME>_*`` overrides applied, or as those variables alone
    when nothing is stored. A name neither defines is left out (the step reports it missing).

    Raises:
        ConfigError: a stored key cannot be decrypted, or the overrides are invalid.
    """
    out: dict[str, str] = {}
    for name in filter(None, (n.strip() for n in step_env.get(FLOW_CONNECTIONS_ENV, "").split(","))):
        try:
            conn: Connection | None = apply_env_overrides(load_connection(svc, name), environ)
        except NotFoundError:
            conn = connection_from_env(name, environ)
        except ConfigError:  # an agent without the secret key: its own variables may define the connection
            conn = connection_from_env(name, environ)
            if conn is None:
                raise
        if conn is None:
            continue
        prefix = env_prefix(name)
        values = {"TYPE": conn.type, "BASE_URL": conn.base_url, "API_KEY": conn.api_key,
                  "API_VERSION": conn.api_version, "CONTEXT_SIZE": conn.context_size, "MODEL": conn.model}
        out.update({prefix + key: str(value) for key, value in values.items() if value not in (None, "")})
    return out
