"""The exception -> HTTP status table of the REST API (``headrace.error_codes`` and the request checks'
errors), and the handlers that apply it.

Every error response has the body ``{"Error": {"Code", "Message", "Target"}}`` (Azure ML v1's
``ErrorResponse``), whatever raised it: a service (``HeadraceError``), the request checks of this
package (bad body, token, size), FastAPI's own validation or routing (404/405), or a bug (500, with
the traceback logged and not sent). Under MLflow's paths (``/api/2.0/``) the body is MLflow's
``{"error_code", "message"}`` instead, which the ``mlflow`` client turns into its own exceptions.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from headrace.error_codes import ERROR_CODES, UNKNOWN_DATASTORE
from headrace.errors import HeadraceError, NotFoundError, ParameterError, PathEscapeError

logger = logging.getLogger(__name__)


class BadRequestError(HeadraceError):
    """The request itself is malformed: not JSON, a missing or mistyped field, a bad query value."""

    def __init__(self, message: str, target: str | None = None):
        self.target = target
        super().__init__(message)


class UnauthorizedError(HeadraceError):
    """No token, or one that is unknown or revoked."""


class ForbiddenError(HeadraceError):
    """The token's role is too low for the call."""


class PayloadTooLargeError(HeadraceError):
    """The request body is over the server's limit."""


class LengthRequiredError(HeadraceError):
    """A route that reads raw bytes got a request that sends no body at all."""


class UnsupportedMediaTypeError(HeadraceError):
    """The body's ``Content-Type`` is not one the route reads."""


class NotAcceptableError(HeadraceError):
    """The client accepts none of the media types the route can answer with (``Accept``)."""


# The first class an exception is an instance of decides. The request checks' own classes subclass
# nothing else in the table, so they may come first.
STATUS_TABLE: tuple[tuple[type[HeadraceError], int, str], ...] = (
    (BadRequestError, 400, "BadRequest"),
    (UnauthorizedError, 401, "Unauthorized"),
    (ForbiddenError, 403, "Forbidden"),
    (PayloadTooLargeError, 413, "PayloadTooLarge"),
    (NotAcceptableError, 406, "NotAcceptable"),
    (UnsupportedMediaTypeError, 415, "UnsupportedMediaType"),
    (LengthRequiredError, 411, "LengthRequired"),
    *ERROR_CODES,
)


def classify(exc: HeadraceError) -> tuple[int, str, str | None]:
    """(status, code, target) for an error; (500, "InternalError", None) for one the table lacks."""
    for cls, status, code in STATUS_TABLE:
        if isinstance(exc, cls):
            return status, _refine(exc, code), _target(exc)
    return 500, "InternalError", None


def _refine(exc: HeadraceError, code: str) -> str:
    """A bad data path is a ParameterError caused by the datastore lookup: name the actual cause."""
    if isinstance(exc, ParameterError) and isinstance(exc.__cause__, NotFoundError):
        return UNKNOWN_DATASTORE
    if isinstance(exc, ParameterError) and isinstance(exc.__cause__, PathEscapeError):
        return "PathEscapesDatastore"
    return code


def _target(exc: HeadraceError) -> str | None:
    for attr in ("target", "parameter", "key", "input", "node"):
        value = getattr(exc, attr, None)
        if value:
            return str(value)
    return None


MLFLOW_PATHS = "/api/2.0/"
"""Paths of MLflow's REST API and artifact proxy: their errors have MLflow's body."""

# MLflow's codes (its ``databricks_pb2.ErrorCode`` names) for the statuses headrace answers with.
_MLFLOW_CODES = {400: "INVALID_PARAMETER_VALUE", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "RESOURCE_DOES_NOT_EXIST", 405: "BAD_REQUEST", 411: "BAD_REQUEST", 413: "INVALID_PARAMETER_VALUE",
                 415: "BAD_REQUEST", 406: "BAD_REQUEST", 500: "INTERNAL_ERROR", 507: "IO_ERROR"}


def error_response(status: int, code: str, message: str, target: str | None = None,
                   headers: dict[str, str] | None = None, *, path: str = "") -> JSONResponse:
    """The error body for a request to ``path``: Azure ML's, or MLflow's under ``MLFLOW_PATHS``."""
    if path.startswith(MLFLOW_PATHS):
        return mlflow_error_response(status, code, message, headers)
    body = {"Error": {"Code": code, "Message": message, "Target": target}}
    return JSONResponse(body, status_code=status, headers=headers)


def mlflow_error_response(status: int, code: str, message: str,
                          headers: dict[str, str] | None = None) -> JSONResponse:
    """MLflow's error body. An object that already exists is 400 RESOURCE_ALREADY_EXISTS, as MLflow
    answers (``mlflow.set_experiment`` relies on it), and a route headrace lacks is ENDPOINT_NOT_FOUND."""
    if code == "AlreadyExists":
        return JSONResponse({"error_code": "RESOURCE_ALREADY_EXISTS", "message": message}, status_code=400,
                            headers=headers)
    mlflow_code = "ENDPOINT_NOT_FOUND" if code == "NoRoute" else _MLFLOW_CODES.get(
        status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
    return JSONResponse({"error_code": mlflow_code, "message": message}, status_code=status, headers=headers)


def _headrace_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeadraceError)
    status, code, target = classify(exc)
    if code == "InternalError":
        return internal_error(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, code, str(exc), target, headers, path=request.url.path)


def internal_error(request: Request | None, exc: BaseException) -> JSONResponse:
    """500 for a bug or an unexpected failure: the traceback goes to the log, not to the client."""
    where = f"{request.method} {request.url.path}" if request is not None else "request"
    logger.error("%s failed", where, exc_info=(type(exc), exc, exc.__traceback__))
    return error_response(500, "InternalError", f"internal server error ({type(exc).__name__}); see the server log",
                          path=request.url.path if request is not None else "")


def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    return error_response(400, "BadRequest", describe_validation(errors), _loc(first.get("loc", ())) or None,
                          path=request.url.path)


def describe_validation(errors: list[Any]) -> str:
    """Pydantic/FastAPI validation errors as one readable sentence."""
    parts = []
    for err in errors[:5]:
        if err.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON: {err.get('ctx', {}).get('error', err.get('msg'))}")
            continue
        where = _loc(err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more


def _loc(loc: Any) -> str:
    skip = {"body", "query", "path", "header"}
    return ".".join(str(p) for p in loc if str(p) not in skip)


_HTTP_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 413: "PayloadTooLarge"}


def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "HttpError")
    if status == 404 and request.url.path.startswith(MLFLOW_PATHS):
        code = "NoRoute"  # routing found nothing: MLflow's ENDPOINT_NOT_FOUND, not a missing object
    message = str(exc.detail) if status != 404 else f"no route {request.method} {request.url.path}; see /openapi.json"
    headers = getattr(exc, "headers", None)
    if status == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request) or (headers or {}).get("Allow", "")}
    return error_response(status, code, message, headers=headers, path=request.url.path)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = [method for method in _METHODS
               if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]
    return ", ".join(allowed)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app`` (the catch-all for other exceptions is ``CatchAllMiddleware``)."""
    app.add_exception_handler(HeadraceError, _headrace_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
