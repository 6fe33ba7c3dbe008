"""HTTP answers back to the exceptions the server raised: ``headrace.error_codes`` read backwards.

A server error body is ``{"Error": {"Code", "Message", "Target"}}``. The ``Code`` picks the class and
the ``Message`` is kept as is, so a remote caller reads the same text an embedded one would. Answers
without such a body (a proxy's page, a HEAD request) fall back on the status alone.
"""

from __future__ import annotations

import re
from typing import Any

from headrace.error_codes import ERROR_CODES, UNKNOWN_DATASTORE
from headrace.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    AuthError,
    ConfigError,
    ConflictError,
    DatastoreError,
    DefinitionError,
    FlowDefinitionError,
    FlowInputError,
    FlowNodeError,
    HeadraceError,
    LLMError,
    NotFoundError,
    ParameterError,
    PathEscapeError,
    RemoteError,
    ScheduleError,
    TokenBudgetError,
)

# Code -> class: the shared table read backwards (its codes are distinct), plus the server's refinement
# and the codes of its token checks, which become the client's own auth errors.
_BY_CODE: dict[str, type[HeadraceError]] = {
    **{code: cls for cls, _status, code in ERROR_CODES},
    UNKNOWN_DATASTORE: ParameterError,
    "Unauthorized": AuthError,
    "Forbidden": AccessDeniedError,
}
_BY_STATUS: dict[int, type[HeadraceError]] = {
    400: ConfigError, 401: AuthError, 403: AccessDeniedError, 404: NotFoundError, 409: ConflictError,
    424: LLMError,
}
_KIND_KEY = re.compile(r"^(?P<kind>.+?) (?P<q>['\"])(?P<key>.*?)(?P=q) (?:not found|already exists)")
_PROBLEM = re.compile(r"^  - (.*)$")


def error_from_response(status: int, body: Any, url: str, what: str) -> HeadraceError:
    """The exception for an error answer.

    Args:
        status: the HTTP status (>= 400).
        body: the decoded JSON body, or the text when it is not JSON, or None.
        url: the server's base URL (named in the messages of ``RemoteError``s).
        what: the request, e.g. ``"GET /api/v1/runs/abc"``.

    Returns:
        An instance of the class the server's ``Code`` names (the message kept), else of the class
        the status suggests, else a ``RemoteError``.
    """
    detail = body.get("Error") if isinstance(body, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("Message"), str):
        code = str(detail.get("Code") or "")
        message = detail["Message"]
        target = detail.get("Target") if isinstance(detail.get("Target"), str) else None
        cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
        if cls is not None:
            return _build(cls, message, target, url, status, code)
        return RemoteError(f"{what} failed on {url} with HTTP {status} ({code}): {message}", url, status, code)
    cls = _BY_STATUS.get(status)
    text = body if isinstance(body, str) else ""
    snippet = " ".join(text.split())[:300]
    message = f"{what} failed with HTTP {status}" + (f": {snippet}" if snippet else "")
    if cls is not None:
        return _build(cls, message, None, url, status, None)
    return RemoteError(f"{message} (server {url})", url, status, None)


def _build(cls: type[HeadraceError], message: str, target: str | None, url: str, status: int,
           code: str | None) -> HeadraceError:
    """An instance of ``cls`` whose ``str()`` is exactly ``message``, with its fields filled in."""
    if issubclass(cls, RemoteError):
        hint = "; check the token (HEADRACE_TOKEN or \"token\" in .headrace/config.json)"
        if cls is AccessDeniedError:
            hint = "; ask for a token with a higher role (`headrace token create --role ...`)"
        return cls(f"{message} (server {url}){hint}", url, status, code)
    # A PathEscapesDatastore with a Target is a data path *parameter* that leaves its datastore.
    if cls is PathEscapeError and target:
        cls = ParameterError
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    if issubclass(cls, DefinitionError | FlowDefinitionError):
        problems = [m.group(1) for line in message.splitlines() if (m := _PROBLEM.match(line))]
        exc.problems = problems or [message]  # type: ignore[attr-defined]
        if cls is FlowDefinitionError:
            exc.flow = message.partition(" is invalid")[0]  # type: ignore[attr-defined]
    elif issubclass(cls, ParameterError):
        exc.parameter = target  # type: ignore[attr-defined]
    elif issubclass(cls, (NotFoundError, AlreadyExistsError)):
        m = _KIND_KEY.match(message)
        exc.kind = m.group("kind") if m else "object"  # type: ignore[attr-defined]
        exc.key = target if target is not None else (m.group("key") if m else "")  # type: ignore[attr-defined]
    elif issubclass(cls, ScheduleError):
        exc.field = exc.target = target  # type: ignore[attr-defined]
    elif issubclass(cls, DatastoreError):
        exc.uri = None  # type: ignore[attr-defined]
    elif issubclass(cls, FlowInputError):
        exc.input = target  # type: ignore[attr-defined]
    elif issubclass(cls, FlowNodeError | TokenBudgetError | LLMError):
        exc.node = target  # type: ignore[attr-defined]
        if cls is LLMError:
            exc.status = None  # type: ignore[attr-defined]  # the model API's status is not sent back
        elif cls is TokenBudgetError:
            exc.tokens = exc.limit = None  # type: ignore[attr-defined]
    return exc
