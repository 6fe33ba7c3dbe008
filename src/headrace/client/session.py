"""``ApiSession``: the transport half of ``HeadraceClient``: one server, its token, retries and error answers.

Every call raises only ``HeadraceError``s: a server error answer becomes the class the server raised, with
its message (``error_mapping``), and a transport failure becomes ``ServerUnavailableError`` naming the URL.

Retries: a request that never reached the server (connection refused, connect timeout) is retried
whatever its method. A request that may have reached it is retried only when repeating it is
harmless: reads, ``PUT``s, state changes such as enable/disable, and submissions, which carry an
``Idempotency-Key`` so a repeat returns the first run.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Mapping
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from headrace.client.error_mapping import error_from_response
from headrace.errors import ConfigError, RemoteError, ServerUnavailableError

M = TypeVar("M", bound=BaseModel)

DEFAULT_TIMEOUT = 60.0
"""Seconds a call may take (connecting is capped at 10 s)."""
DEFAULT_RETRIES = 3
"""Retries after a transport failure (see the module docstring for which calls are retried)."""
API = "/api/v1"
"""The path of the REST API under the server's URL."""
_BACKOFF = (0.1, 0.3, 0.9, 2.0)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def seg(value: str) -> str:
    """One path segment, escaped (ids are safe; names and experiment names may not be)."""
    return quote(str(value), safe="")


class ApiSession:
    """Sends requests to one headrace server and decodes its answers; ``HeadraceClient`` adds the calls.

    The arguments are those of ``HeadraceClient``.
    """

    def __init__(self, url: str, token: str | None = None, timeout: float = DEFAULT_TIMEOUT, *,
                 retries: int = DEFAULT_RETRIES, transport: httpx.BaseTransport | None = None):
        base = url.strip().rstrip("/")
        if base.endswith(API):
            base = base[: -len(API)]
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"invalid server URL {url!r}: expected http://host:port or https://host/...")
        self.url = base
        self.token = token  # what an MLflow client of the same server sends (MLFLOW_TRACKING_TOKEN)
        self.retries = retries
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base + API, headers=headers, transport=transport,
                                  timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        # Workspaces are rarely closed explicitly: close the connections when the client is dropped.
        self._closer = weakref.finalize(self, self._http.close)

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    # -- transport -----------------------------------------------------------------------------
    def send(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
             content: bytes | None = None, headers: Mapping[str, str] | None = None,
             idempotent: bool | None = None) -> httpx.Response:
        """Send one request (retrying as the module docstring says) and return the answer, whatever its status.

        Raises:
            ServerUnavailableError: no answer after the retries.
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            try:
                return self._http.request(method, path, params=query, json=json_body, content=content,
                                          headers=headers)
            except httpx.TransportError as exc:
                retry = isinstance(exc, _NOT_SENT) or idempotent
                if not retry or attempt >= self.retries:
                    raise self._unavailable(method, path, exc) from exc
            time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
            attempt += 1

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """``send``, raising the mapped ``HeadraceError`` for an error answer (status >= 400)."""
        response = self.send(method, path, **options)
        if response.status_code >= 400:
            raise self._error(response, method, path)
        return response

    def _unavailable(self, method: str, path: str, exc: httpx.TransportError) -> ServerUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            why = f"no answer within the time limit ({type(exc).__name__})"
        else:
            why = str(exc) or type(exc).__name__
        return ServerUnavailableError(
            f"cannot reach the headrace server at {self.url} ({method} {API}{path}: {why}); is it running? "
            "Start it with `headrace server`, or check HEADRACE_URL / the \"url\" in .headrace/config.json",
            self.url,
        )

    def _error(self, response: httpx.Response, method: str, path: str) -> Exception:
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        return error_from_response(response.status_code, body, self.url, f"{method} {API}{path}")

    def _model(self, model: type[M], method: str, path: str, **options: Any) -> M:
        response = self.request(method, path, **options)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise RemoteError(
                f"{method} {API}{path} on {self.url} answered something that is not a {model.__name__}: "
                f"{exc.errors()[0].get('msg') if exc.errors() else exc}; is this a headrace server of the "
                "same version?", self.url, response.status_code,
            ) from None

    def _json(self, method: str, path: str, **options: Any) -> Any:
        response = self.request(method, path, **options)
        try:
            return response.json()
        except ValueError:
            raise RemoteError(f"{method} {API}{path} on {self.url} did not answer JSON", self.url,
                              response.status_code) from None

    @staticmethod
    def _body(model: BaseModel) -> Any:
        return json.loads(model.model_dump_json(exclude_none=True))
