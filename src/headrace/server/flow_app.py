"""``headrace flow serve``: one flow over HTTP, with prompt flow's ``/score`` contract.

``create_flow_app(flow, llm_runner)`` serves:

- ``POST /score``: the body is a JSON object keyed by input names (a non-JSON body is taken as the value of
  the only input, when the flow has exactly one). The answer is the outputs as JSON, or, when the client
  sends ``Accept: text/event-stream``, Server-Sent Events: one ``data: {...}`` event with every output
  that does not stream, then one ``data: {"<output>": "<chunk>"}`` event per chunk of the streamed chat
  output. An ``Accept`` that allows neither gets 406.
- ``GET /health``: ``{"status": "Healthy", "version": ...}``; ``GET /``: a small test form.

Errors answer ``{"error": {"code": "UserError" | "SystemError", "message": ...}}`` with the status of the
server's one error table (``server.errors``): 400 for a missing or bad input (the message names it) or a
prompt that cannot fit, 424 when the model API failed, 500 when a node failed (naming it; a UserError
when the flow's own code raised). An error after streaming began arrives as a last ``event: error`` event.

The score helpers (``negotiate``, ``read_inputs``, ``score_response``) also serve the published flows'
route ``POST /api/v1/flows/{name}/score`` (``routers/flows.py``), with the REST API's error body.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from headrace import __version__
from headrace.errors import FlowNodeError, HeadraceError
from headrace.server.errors import (
    BadRequestError,
    NotAcceptableError,
    PayloadTooLargeError,
    classify,
    describe_validation,
)
from headrace.server.hosts import HostGuardMiddleware
from headrace.server.json_text import load_json, reject_lone_surrogates

if TYPE_CHECKING:
    from headrace.flows.executor import Flow
    from headrace.flows.llm_node import LLMRunner
    from headrace.flows.spec import FlowSpec

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
"""Largest ``/score`` body ``headrace flow serve`` accepts (413 above)."""

SSE_MEDIA_TYPE = "text/event-stream; charset=utf-8"
_SSE, _JSON = "text/event-stream", "application/json"

ErrorBody = Callable[[BaseException], tuple[int, dict[str, Any]]]


def negotiate(accept: str | None) -> str:
    """``"json"`` or ``"sse"`` for an ``Accept`` header.

    Event streams only when asked for by name (``*/*`` means JSON), and not ranked below JSON.

    Raises:
        NotAcceptableError: the header allows neither JSON nor an event stream.
    """
    if not accept or not accept.strip():
        return "json"
    quality = {_SSE: (-1.0, -1), _JSON: (-1.0, -1)}  # media type -> (q, specificity) of its best match
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        for wanted in quality:
            kind = wanted.split("/")[0]
            specificity = 2 if media == wanted else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
            if specificity > quality[wanted][1]:
                quality[wanted] = (q, specificity)
    (sse_q, sse_specific), (json_q, _) = quality[_SSE], quality[_JSON]
    if sse_q > 0 and sse_specific == 2 and sse_q >= json_q:
        return "sse"
    if json_q > 0:
        return "json"
    if sse_q > 0:
        return "sse"
    raise NotAcceptableError(f"this route answers {_JSON} or {_SSE} (streaming); the request's Accept header "
                             f"({accept.strip()[:200]}) allows neither")


async def read_inputs(request: Request, spec: FlowSpec, max_bytes: int | None = None) -> dict[str, Any]:
    """The flow inputs a ``/score`` body gives (values are converted by type when the line runs).

    Raises:
        BadRequestError: the body is not UTF-8, or not a JSON object while the flow has several inputs.
        PayloadTooLargeError: the body is over ``max_bytes``.
    """
    raw = await request.body()
    if max_bytes is not None and len(raw) > max_bytes:
        raise PayloadTooLargeError(f"the body has {len(raw)} bytes; the limit is {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"the body is not UTF-8 text: {exc}") from None
    if not text.strip():
        return {}
    try:
        data = load_json(text)
    except ValueError:
        data = None
        is_json = False
    else:
        is_json = True
    reject_lone_surrogates(raw, data)
    if isinstance(data, dict):
        return data
    if len(spec.inputs) == 1:
        name, inp = next(iter(spec.inputs.items()))
        # A string input takes the text itself (or a JSON string); other types convert from text.
        return {name: data if inp.type == "string" and isinstance(data, str) else text}
    names = ", ".join(spec.inputs) or "none"
    what = "a JSON object" if not is_json else f"JSON {type(data).__name__}"
    raise BadRequestError(f"the body must be a JSON object keyed by the flow's inputs ({names}), not {what}")


def sse(data: Any, event: str | None = None) -> str:
    """One Server-Sent Event carrying ``data`` as JSON."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def score_response(flow: Flow, inputs: dict[str, Any], *, llm: LLMRunner | None, fmt: str,
                         error_body: ErrorBody, timeout: float | None = None,
                         headers: dict[str, str] | None = None) -> Response:
    """Run one line and answer with its outputs, as JSON or as an event stream (``fmt`` from ``negotiate``).

    Raises:
        FlowInputError: a missing, unknown or ill-typed input.
        LLMError, TokenBudgetError, FlowNodeError: the line failed (see ``flow_runtime.line_failure``).
    """
    from headrace.flows.values import json_safe
    from headrace.services.flow_runtime import hidden_outputs, line_failure

    stream = fmt == "sse"
    result = await flow.arun(inputs, llm=llm, stream=stream, timeout=timeout)
    if result.error is not None:
        raise line_failure(result.error)
    hidden = hidden_outputs(flow.spec)
    streams = {k: v for k, v in result.outputs.items() if hasattr(v, "__aiter__")}
    for name in hidden & set(streams):
        await _close(streams.pop(name))
    outputs = {k: v for k, v in result.outputs.items() if k not in hidden and k not in streams}
    if not stream:
        return JSONResponse(json_safe(outputs), headers=headers)
    return StreamingResponse(_events(json_safe(outputs), streams, error_body), media_type=SSE_MEDIA_TYPE,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})


async def _events(first: dict[str, Any], streams: dict[str, Any], error_body: ErrorBody) -> AsyncIterator[str]:
    pending = dict(streams)
    try:
        yield sse(first)
        for name, chunks in streams.items():
            async for chunk in chunks:
                yield sse({name: chunk})
            pending.pop(name)
    except Exception as exc:  # the model failed mid-answer: the status line is gone, so say it in the stream
        _, body = error_body(exc)
        yield sse(body, event="error")
    finally:
        for chunks in pending.values():  # the client went away, or an error stopped the stream
            await _close(chunks)


async def _close(chunks: Any) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


def flow_error_body(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Status and prompt flow's error body ``{"error": {"code", "message"}}`` for an exception."""
    if isinstance(exc, HeadraceError):
        status, _code, _target = classify(exc)
        message = str(exc)
    else:
        logger.error("scoring failed", exc_info=(type(exc), exc, exc.__traceback__))
        status, message = 500, f"internal error ({type(exc).__name__}); see the server's log"
    kind = "UserError" if (400 <= status < 500 and status != 424) or _user_code_failed(exc) else "SystemError"
    return status, {"error": {"code": kind, "message": message}}


def _user_code_failed(exc: BaseException) -> bool:
    """Whether a node failed because the flow's own code raised (prompt flow calls that a UserError)."""
    if not isinstance(exc, FlowNodeError):
        return False
    root: BaseException = exc
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    return not isinstance(root, HeadraceError)


def _install_errors(app: FastAPI) -> None:
    def headrace_error(_request: Request, exc: Exception) -> JSONResponse:
        status, body = flow_error_body(exc)
        return JSONResponse(body, status_code=status)

    def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message = describe_validation(list(exc.errors()))
        return JSONResponse({"error": {"code": "UserError", "message": message}}, status_code=400)

    def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail) if exc.status_code != 404 else f"no route {request.method} {request.url.path}"
        kind = "UserError" if exc.status_code < 500 else "SystemError"
        return JSONResponse({"error": {"code": kind, "message": message}}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.add_exception_handler(HeadraceError, headrace_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, headrace_error)


def create_flow_app(flow: Flow, llm_runner: LLMRunner | None, *, timeout: float | None = None,
                    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, local_only: bool = False) -> FastAPI:
    """The app serving ``flow`` (see the module docstring).

    Args:
        flow: the loaded flow.
        llm_runner: runs its llm nodes (None: a flow without llm nodes).
        timeout: seconds a line may take before it fails naming the nodes still running.
        max_body_bytes: the largest ``/score`` body.
        local_only: served on loopback without a token: answer loopback ``Host`` names only and refuse
            cross-origin posts, so web pages cannot drive it (``server.hosts``).

    Example:
        >>> app = create_flow_app(load_flow("my_flow"), llm_runner(svc))  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8080)  # doctest: +SKIP
    """
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        session = getattr(llm_runner, "session", None)  # model connections kept open while serving
        async with session() if session is not None else contextlib.nullcontext():
            yield

    app = FastAPI(title=f"headrace flow {flow.name}", version=__version__, redoc_url=None, lifespan=lifespan)
    app.state.flow = flow
    _install_errors(app)
    if local_only:
        app.add_middleware(HostGuardMiddleware, allowed_hosts=None, local_only=True)

    @app.post("/score", responses={200: {"content": {SSE_MEDIA_TYPE: {}}}})
    async def score(request: Request) -> Response:
        """Run the flow once: a JSON object of inputs in, its outputs out (as SSE with Accept: text/event-stream)."""
        fmt = negotiate(request.headers.get("accept"))
        inputs = await read_inputs(request, flow.spec, max_body_bytes)
        return await score_response(flow, inputs, llm=llm_runner, fmt=fmt, error_body=flow_error_body,
                                     timeout=timeout)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "Healthy", "version": __version__}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def form() -> str:
        return test_form(flow.spec, flow.name)

    return app


def test_form(spec: FlowSpec, name: str) -> str:
    """A one-page form posting JSON inputs to ``score`` and showing the answer."""
    from headrace.flows.values import json_safe

    sample = {n: json_safe(i.default) if not i.required else "" for n, i in spec.inputs.items()}
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>" + html.escape(name) + "</title>"
        "<body style='font-family:sans-serif;max-width:60em;margin:2em auto'><h1>" + html.escape(name) + "</h1>"
        "<p>" + html.escape(spec.description) + "</p><p>POST a JSON object of inputs to <code>/score</code>.</p>"
        "<textarea id=inputs rows=10 style='width:100%'>" + html.escape(json.dumps(sample, indent=2)) +
        "</textarea><p><button id=go>Score</button></p><pre id=out style='white-space:pre-wrap'></pre>"
        "<script>document.getElementById('go').onclick=async()=>{const out=document.getElementById('out');"
        "out.textContent='...';const r=await fetch('score',{method:'POST',headers:{'Content-Type':"
        "'application/json'},body:document.getElementById('inputs').value});"
        "out.textContent=r.status+'\\n'+JSON.stringify(await r.json(),null,2)};</script></body></html>"
    )
