"""An OpenAI-compatible chat API on loopback, for tests of LLM nodes (no mocks of the ``openai`` package).

Real uvicorn serves a FastAPI app in a thread. Routes, as OpenAI and Azure OpenAI shape them:

- ``POST /v1/chat/completions`` and ``POST /openai/deployments/{deployment}/chat/completions?api-version=V``;
- ``POST /v1/completions`` (text completions, what ``local`` connections call).
- ``POST /v1/embeddings`` and ``POST /openai/deployments/{deployment}/embeddings`` (a small deterministic vector
  per input: letter counts).

Answers are deterministic: the next scripted answer (``fake.script("a", ["chunk1", "chunk2"])``), else
``fake.responder(body)`` when set, else ``"echo: <last user message>"`` (for completions, of the prompt's last
``Question:`` line). Every answer carries ``usage`` (prompt tokens = words of the messages, completion tokens =
words of the answer) unless ``fake.send_usage = False``. ``stream: true`` answers with SSE chunks (one per word,
or the scripted chunks), a usage chunk when ``stream_options.include_usage``, then ``data: [DONE]``.

Every request is recorded (``fake.requests``: path, query, lower-cased headers, JSON body). The next calls can
fail: ``fake.fail_next(2, status=429, retry_after="0")``, or be slow: ``fake.slow_next(1, seconds=5)`` (a slow
answer is released early by ``reset``).

Use the ``fake_llm`` fixture (server per session, state reset per test), or ``serve()`` in a script.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from loopback import serve_in_thread


@dataclass
class RecordedRequest:
    """One request the fake received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]
    deployment: str | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    message: str
    delay: float = 0.0


@dataclass
class FakeLLM:
    """The fake's state; ``url`` is set once it serves (``http://127.0.0.1:PORT``)."""

    url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], str] | None = None
    send_usage: bool = True
    model: str = "fake-model"

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[str | list[str] | dict[str, Any]] = deque()
        self._failures: deque[_Failure] = deque()
        self._release = threading.Event()
        self.app = self._build_app()

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root: ``{url}/v1``."""
        return f"{self.url}/v1"

    # -- test controls -------------------------------------------------------------------------
    def script(self, *answers: str | list[str] | dict[str, Any]) -> None:
        """Queue answers: a string, a list of chunks (streamed as given, joined otherwise), or a dict: the
        message itself (``{"content": None, "function_call": {...}}``), never streamed."""
        with self._lock:
            self._script.extend(answers)

    def fail_next(self, n: int = 1, *, status: int = 429, retry_after: str | None = None,
                  message: str | None = None) -> None:
        """Make the next ``n`` calls answer ``status`` with an OpenAI-style error body."""
        with self._lock:
            for _ in range(n):
                self._failures.append(_Failure(status, retry_after, message or f"fake failure {status}"))

    def slow_next(self, n: int = 1, *, seconds: float = 5.0) -> None:
        """Make the next ``n`` calls wait ``seconds`` before answering (``reset`` releases them)."""
        with self._lock:
            for _ in range(n):
                self._failures.append(_Failure(0, None, "", delay=seconds))

    def reset(self) -> None:
        """Forget requests, scripts, failures and the responder; release slow answers."""
        self._release.set()
        with self._lock:
            self.requests.clear()
            self._script.clear()
            self._failures.clear()
            self.responder = None
            self.send_usage = True
        self._release = threading.Event()

    @property
    def last(self) -> RecordedRequest:
        """The newest request."""
        with self._lock:
            return self.requests[-1]

    # -- the server ----------------------------------------------------------------------------
    def _record(self, request: Request, body: dict[str, Any], deployment: str | None) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(request.url.path, dict(request.query_params), headers, body,
                                                 deployment))

    async def _hurdle(self) -> Response | None:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is None:
            return None
        if failure.delay:
            release = self._release
            deadline = time.monotonic() + failure.delay
            while time.monotonic() < deadline and not release.is_set():
                await asyncio.sleep(0.01)
            return None
        headers = {"retry-after": failure.retry_after} if failure.retry_after is not None else {}
        kind = "rate_limit_exceeded" if failure.status == 429 else "server_error"
        return JSONResponse({"error": {"message": failure.message, "type": kind, "code": str(failure.status)}},
                            status_code=failure.status, headers=headers)

    def _answer(self, body: dict[str, Any], fallback: str) -> str | list[str] | dict[str, Any]:
        with self._lock:
            if self._script:
                return self._script.popleft()
            responder = self.responder
        return responder(body) if responder else fallback

    def _usage(self, prompt_words: int, answer: str) -> dict[str, int]:
        completion = len(answer.split())
        return {"prompt_tokens": prompt_words, "completion_tokens": completion,
                "total_tokens": prompt_words + completion}

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        async def chat(request: Request, deployment: str | None = None) -> Response:
            body = await request.json()
            self._record(request, body, deployment)
            hurdle = await self._hurdle()
            if hurdle is not None:
                return hurdle
            messages = body.get("messages") or []
            last_user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
            answer = self._answer(body, f"echo: {last_user}")
            words = sum(len(str(m.get("content", "")).split()) for m in messages)
            return self._respond(body, answer, words, deployment, chat=True)

        async def completions(request: Request) -> Response:
            body = await request.json()
            self._record(request, body, None)
            hurdle = await self._hurdle()
            if hurdle is not None:
                return hurdle
            prompt = str(body.get("prompt", ""))
            questions = re.findall(r"^Question: (.*)$", prompt, re.MULTILINE)
            answer = self._answer(body, f"echo: {questions[-1] if questions else prompt[-100:]}")
            return self._respond(body, answer, len(prompt.split()), None, chat=False)

        app.post("/v1/chat/completions")(chat)
        app.post("/openai/deployments/{deployment}/chat/completions")(chat)
        app.post("/v1/completions")(completions)

        async def deployment_completions(request: Request, deployment: str) -> Response:
            return await completions(request)

        app.post("/openai/deployments/{deployment}/completions")(deployment_completions)

        async def embeddings(request: Request, deployment: str | None = None) -> Response:
            body = await request.json()
            self._record(request, body, deployment)
            hurdle = await self._hurdle()
            if hurdle is not None:
                return hurdle
            given = body.get("input")
            texts = given if isinstance(given, list) else [given]
            data = [{"object": "embedding", "index": i, "embedding": _vector(str(t))} for i, t in enumerate(texts)]
            words = sum(len(str(t).split()) for t in texts)
            return JSONResponse({"object": "list", "data": data, "model": body.get("model") or deployment,
                                 "usage": {"prompt_tokens": words, "total_tokens": words}})

        app.post("/v1/embeddings")(embeddings)
        app.post("/openai/deployments/{deployment}/embeddings")(embeddings)
        return app

    def _respond(self, body: dict[str, Any], answer: str | list[str] | dict[str, Any], prompt_words: int,
                 deployment: str | None, *, chat: bool) -> Response:
        if isinstance(answer, dict):  # a scripted message, e.g. {"content": None, "function_call": {...}}
            message = {"role": "assistant", "content": None, **answer}
            return JSONResponse({"id": "fake-1", "object": "chat.completion", "created": 0,
                                 "model": body.get("model") or self.model,
                                 "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
        chunks = answer if isinstance(answer, list) else re.findall(r"\S+\s*|\s+", answer)
        text = "".join(chunks)
        model = body.get("model") or deployment or self.model
        usage = self._usage(prompt_words, text) if self.send_usage else None
        if not body.get("stream"):
            choice: dict[str, Any] = (
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                if chat else {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
            )
            payload = {"id": "fake-1", "object": "chat.completion" if chat else "text_completion",
                       "created": 0, "model": model, "choices": [choice]}
            if usage:
                payload["usage"] = usage
            return JSONResponse(payload)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and usage is not None

        def event(choices: list[dict[str, Any]], **extra: Any) -> str:
            data = {"id": "fake-1", "object": "chat.completion.chunk" if chat else "text_completion",
                    "created": 0, "model": model, "choices": choices, **extra}
            return f"data: {json.dumps(data)}\n\n"

        def piece(content: str | None, finish: str | None) -> dict[str, Any]:
            if chat:
                delta = {"content": content} if content is not None else {}
                return {"index": 0, "delta": delta, "finish_reason": finish}
            return {"index": 0, "text": content or "", "finish_reason": finish, "logprobs": None}

        def events() -> Iterator[str]:
            if chat:
                yield event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            for chunk in chunks:
                yield event([piece(chunk, None)])
            yield event([piece(None, "stop")])
            if include_usage:
                yield event([], usage=usage)
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


def _vector(text: str, size: int = 8) -> list[float]:
    """A deterministic unit-free embedding of ``text`` (letter counts folded into ``size`` buckets)."""
    vec = [0.0] * size
    for ch in text.lower():
        vec[ord(ch) % size] += 1.0
    return vec


@contextlib.contextmanager
def serve(fake: FakeLLM | None = None) -> Iterator[FakeLLM]:
    """Serve a fake llm on a free loopback port (real uvicorn in a thread) until the block ends."""
    fake = fake or FakeLLM()
    with serve_in_thread(fake.app, lifespan="off", name="fake-llm") as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.reset()


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLLM]:
    """The fake LLM server, started once per test session."""
    with serve() as fake:
        yield fake


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLM) -> Iterator[FakeLLM]:
    """The fake LLM, with no recorded requests, scripts or failures at the start of the test."""
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()
