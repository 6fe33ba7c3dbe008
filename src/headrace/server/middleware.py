"""ASGI middleware: the request body size limit and the last-resort 500 handler."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from headrace.server.errors import error_response, internal_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Raw uploads (snapshots, datastore files, model blobs, MLflow artifacts) get the larger upload limit; every other
# body the JSON one.
_UPLOAD_PATH = re.compile(
    r"^/api/(v1/(snapshots/[^/]+|datastores/[^/]+/files/.+|models/blobs/[^/]+)|2\.0/mlflow-artifacts/artifacts/.+)$")
# An over-limit body is read and dropped up to this size, so a client that sends its whole body before
# reading the answer sees the 413 instead of a reset connection; beyond that the connection is closed.
_DRAIN_BYTES = 64 * 1024 * 1024


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413, by ``Content-Length`` or by the bytes actually streamed.

    The body is buffered (up to the limit) before the app runs, so an over-limit body never reaches
    a route half-read.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if _UPLOAD_PATH.match(scope["path"]) else self.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # A client waiting for "100 Continue" sends nothing more; an absurd length is not worth reading.
            if _header(scope, b"expect") != "100-continue" and int(declared) <= _DRAIN_BYTES:
                await _drain(receive, int(declared))
            await _too_large(scope, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                if more:
                    await _drain(receive, _DRAIN_BYTES)
                await _too_large(scope, send, limit)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1").strip().lower()
    return None


async def _drain(receive: Receive, at_most: int) -> None:
    drained = 0
    while drained <= min(at_most, _DRAIN_BYTES):
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    response = error_response(413, "PayloadTooLarge", f"the request body is over the server's limit of {limit} bytes",
                              path=scope["path"])
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class CatchAllMiddleware:
    """Turn an exception no handler took into a logged 500 with the usual error body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            response = internal_error(Request(scope), exc)
            await response(scope, receive, send)
