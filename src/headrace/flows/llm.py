"""Calls to OpenAI-compatible APIs through the ``openai`` package: timeouts, retries, streaming.

``LLMClient`` talks to one ``Connection``: ``openai`` and ``local`` connections through ``openai.AsyncOpenAI``
(``base_url`` as given), ``azure_openai`` through ``openai.AsyncAzureOpenAI`` (``azure_endpoint=base_url``,
``api_version``; the model is the deployment name).

Retries are ours, not the SDK's (its ``max_retries`` is 0), so every attempt is counted and traced: on 408,
409, 429 and 5xx answers, timeouts and connection errors, up to ``RetryPolicy.max_retries`` more attempts,
waiting what the server asks (``Retry-After`` / ``retry-after-ms``) or else an exponential backoff with
jitter. Any other 4xx fails at once. Failures raise ``LLMError`` with the HTTP status and the server's own
message. A stream is retried only until its first byte; an error in the middle of a stream is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.errors import LLMError
from headrace.flows.connections import Connection

if TYPE_CHECKING:
    import openai
else:
    class _Openai:
        """``openai``, imported on first use: it costs ~0.5 s of CPU, and every process that builds a
        workspace's services imports this module (CLI commands, agents, step runners)."""

        def __getattr__(self, name: str) -> Any:
            import openai as module

            return getattr(module, name)

    openai = _Openai()

__all__ = ["API_PARAMS", "Attempt", "Completion", "LLMClient", "RetryPolicy", "TextStream", "Timeouts"]

API_PARAMS = frozenset({
    "model", "deployment_name", "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
    "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "n", "response_format",
    "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call", "user", "reasoning_effort",
})
"""LLM node inputs that are API parameters (every other input is a template variable)."""

_RETRY_STATUS = frozenset({408, 409, 429})
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: to connect, for each read (a whole answer, or the gap between two stream chunks)."""

    connect: float = 10.0
    read: float = 120.0
    write: float = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Attributes:
        max_retries: attempts after the first (3: at most 4 attempts).
        base_delay: the first backoff; doubled at each retry, up to ``max_delay``.
        max_delay: the longest backoff.
        jitter: the backoff is multiplied by a random factor in ``[1 - jitter, 1 + jitter]``.
        max_retry_after: the longest wait a server's ``Retry-After`` may ask for.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.2
    max_retry_after: float = 120.0

    def delay(self, retry: int, retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number ``retry`` (1 for the first): the server's ``retry_after`` when it
        gave one, else ``base_delay * 2 ** (retry - 1)`` capped and jittered."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        backoff = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return max(0.0, backoff * (1 + self.jitter * (2 * rand() - 1)))


@dataclass
class Attempt:
    """One failed try: its number, the HTTP status (None without an answer), the error, the wait after it."""

    number: int
    status: int | None
    error: str
    delay: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"attempt": self.number, "status": self.status, "error": self.error, "delay_s": self.delay}


@dataclass
class Completion:
    """A finished answer.

    Attributes:
        text: the answer's text.
        model: the model the server says answered.
        usage: the server's ``usage`` (``prompt_tokens``, ``completion_tokens``, ``total_tokens``), or None.
        finish_reason: ``stop``, ``length``...
        attempts: how many tries it took.
        failures: the failed tries, in order.
        message: the whole chat message (``role``, ``content``, ``function_call``, ``tool_calls``...).
    """

    text: str
    model: str | None
    usage: dict[str, int] | None
    finish_reason: str | None
    attempts: int
    failures: list[Attempt] = field(default_factory=list)
    message: dict[str, Any] | None = None


class TextStream:
    """The chunks of a streamed answer, as an async iterator of text; ``usage``, ``finish_reason`` and
    ``model`` are set once it is exhausted, and ``on_done`` callbacks run then (also on error or close).

    The connection is released when the iteration ends, fails or ``aclose()`` is called.
    """

    def __init__(self, chunks: AsyncIterator[Any], close: Callable[[], Awaitable[None]], *, attempts: int,
                 failures: list[Attempt], chat: bool, error: Callable[[Exception], LLMError]):
        self.attempts = attempts
        self.failures = failures
        self.usage: dict[str, int] | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.text = ""
        self.on_done: list[Callable[[TextStream], None]] = []
        self._chunks = chunks
        self._close = close
        self._chat = chat
        self._error = error
        self._iter = self._run()
        self._started = False
        self._finished = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self

    async def __anext__(self) -> str:
        self._started = True
        return await self._iter.__anext__()

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        if self._started:
            await self._iter.aclose()
            return
        # A generator that never started skips its ``finally``: release and report here instead.
        await self._iter.aclose()
        await self._finish()

    async def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        with contextlib.suppress(Exception):
            await self._close()
        for callback in self.on_done:
            callback(self)

    async def _run(self) -> AsyncIterator[str]:
        try:
            async for chunk in self._chunks:
                self.model = getattr(chunk, "model", None) or self.model
                if getattr(chunk, "usage", None) is not None:
                    self.usage = _usage(chunk.usage)
                for choice in chunk.choices or ():
                    if choice.finish_reason:
                        self.finish_reason = choice.finish_reason
                    piece = (choice.delta.content if self._chat else choice.text) or ""
                    if piece:
                        self.text += piece
                        yield piece
        except openai.OpenAIError as exc:
            raise self._error(exc) from exc
        finally:
            await self._finish()


def _usage(usage: Any) -> dict[str, int] | None:
    if usage is None:
        return None
    values = {key: getattr(usage, key, None) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return {k: int(v) for k, v in values.items() if isinstance(v, int)} or None


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own explanation: ``error.message`` of an OpenAI-style body, else the body's text."""
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if body.get("detail"):
            return str(body["detail"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    with contextlib.suppress(Exception):
        text = exc.response.text.strip()
        if text:
            return text[:500]
    return exc.message


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds the server asks to wait (``retry-after-ms``, ``Retry-After`` in seconds or as a date)."""
    headers = exc.response.headers
    with contextlib.suppress(TypeError, ValueError):
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError):
        return (email.utils.parsedate_to_datetime(value) - clock.now()).total_seconds()
    return None


class LLMClient:
    """Chat (and, for ``local`` connections, completion) calls on one connection.

    Args:
        connection: where to call.
        retry: the retry policy.
        timeouts: connect/read/write timeouts.
        sleep: how to wait between attempts (tests pass a recorder).
        node: the calling node's name, put in errors.

    Example:
        >>> client = LLMClient(Connection("llm", "openai", "http://127.0.0.1:8000/v1", "sk-..."))
        >>> # completion = await client.chat([{"role": "user", "content": "Hi"}], "gpt-4o-mini", {})
    """

    def __init__(self, connection: Connection, *, retry: RetryPolicy | None = None, timeouts: Timeouts | None = None,
                 sleep: Sleep = asyncio.sleep, node: str | None = None, shared: openai.AsyncOpenAI | None = None):
        self.connection = connection
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self.sleep = sleep
        self.node = node
        self.shared = shared  # an SDK client kept open by its owner (its connections are reused), or None

    def open_client(self) -> openai.AsyncOpenAI:
        """A new SDK client for the connection; the caller closes it."""
        conn = self.connection
        timeout = openai.Timeout(self.timeouts.read, connect=self.timeouts.connect, write=self.timeouts.write)
        # A server without keys (vLLM, Ollama, llama.cpp) still gets a non-empty one: the SDK insists.
        key = conn.api_key or "none"
        if conn.type == "azure_openai":
            return openai.AsyncAzureOpenAI(azure_endpoint=conn.base_url, api_version=conn.api_version, api_key=key,
                                           timeout=timeout, max_retries=0)
        return openai.AsyncOpenAI(base_url=conn.base_url, api_key=key, timeout=timeout, max_retries=0)

    def _releaser(self, raw: Any, client: openai.AsyncOpenAI) -> Callable[[], Awaitable[None]]:
        """What ends a stream: closing its own client, or only its response on a shared one."""
        return client.close if self.shared is None else raw.close

    def _error(self, message: str, status: int | None = None) -> LLMError:
        return LLMError(f"connection {self.connection.name!r}: {message}", status=status, node=self.node)

    def _describe(self, exc: Exception) -> tuple[int | None, str, bool, float | None]:
        """(status, message, retryable, retry_after) of an SDK error."""
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            retryable = status in _RETRY_STATUS or status >= 500
            after = _retry_after(exc) if retryable else None
            return status, f"HTTP {status}: {_server_message(exc)}", retryable, after
        if isinstance(exc, openai.APITimeoutError):
            return None, f"no answer within {self.timeouts.read:g} s from {self.connection.base_url}", True, None
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return None, f"cannot reach {self.connection.base_url}: {cause}", True, None
        return None, str(exc) or type(exc).__name__, False, None

    def _stream_error(self, exc: Exception) -> LLMError:
        status, message, _, _ = self._describe(exc)
        return self._error(f"the stream broke off: {message}", status)

    async def _attempts(self, call: Callable[[openai.AsyncOpenAI], Awaitable[Any]], *, keep_open: bool = False
                        ) -> tuple[Any, openai.AsyncOpenAI, int, list[Attempt]]:
        """Run ``call`` with retries; returns (its result, the open client, attempts, failures).

        The client is closed here unless ``keep_open`` (a stream closes it when it ends) or it is shared.
        """
        owned = self.shared is None
        client = self.open_client() if owned else self.shared
        failures: list[Attempt] = []
        try:
            for number in range(1, self.retry.max_retries + 2):
                try:
                    result = await call(client)
                except openai.OpenAIError as exc:
                    status, message, retryable, after = self._describe(exc)
                    failures.append(Attempt(number, status, message))
                    if not retryable:
                        raise self._error(message, status) from exc
                    if number > self.retry.max_retries:
                        raise self._error(f"failed after {number} attempts; last: {message}", status) from exc
                    failures[-1].delay = self.retry.delay(number, after)
                    await self.sleep(failures[-1].delay)
                    continue
                if owned and not keep_open:
                    await client.close()
                return result, client, number, failures
            raise AssertionError("unreachable")  # pragma: no cover
        except BaseException:
            if owned:
                await client.close()
            raise

    async def chat(self, messages: Sequence[Mapping[str, Any]], model: str, params: Mapping[str, Any]) -> Completion:
        """One chat completion.

        Args:
            messages: ``[{"role", "content"}]``.
            model: the model, or for Azure the deployment.
            params: other API parameters (``temperature``, ``max_tokens``...), sent as given.

        Raises:
            LLMError: after the retries that apply, with the HTTP status and the server's message.
        """
        response, _, attempts, failures = await self._attempts(lambda client: client.chat.completions.create(
            model=model, messages=list(messages), extra_body=dict(params)))
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content if choice is not None else None) or ""
        message = choice.message.model_dump() if choice is not None else None
        return Completion(text, response.model, _usage(response.usage), choice and choice.finish_reason, attempts,
                          failures, message)

    async def chat_stream(self, messages: Sequence[Mapping[str, Any]], model: str, params: Mapping[str, Any]
                          ) -> TextStream:
        """A streamed chat completion (the server is asked to add usage to its last chunk).

        Raises:
            LLMError: the stream could not start (after retries); errors while reading come from iterating.
        """
        raw, client, attempts, failures = await self._attempts(lambda client: client.chat.completions.create(
            model=model, messages=list(messages), stream=True, stream_options={"include_usage": True},
            extra_body=dict(params)), keep_open=True)
        return TextStream(raw, self._releaser(raw, client), attempts=attempts, failures=failures, chat=True,
                          error=self._stream_error)

    async def complete(self, prompt: str, model: str, params: Mapping[str, Any]) -> Completion:
        """One text completion (``/v1/completions``), for base models.

        Raises:
            LLMError: as ``chat``.
        """
        response, _, attempts, failures = await self._attempts(lambda client: client.completions.create(
            model=model, prompt=prompt, extra_body=dict(params)))
        choice = response.choices[0] if response.choices else None
        text = (choice.text if choice is not None else None) or ""
        return Completion(text, response.model, _usage(response.usage), choice and choice.finish_reason, attempts,
                          failures)

    async def complete_stream(self, prompt: str, model: str, params: Mapping[str, Any]) -> TextStream:
        """A streamed text completion. Raises: LLMError as ``chat_stream``."""
        raw, client, attempts, failures = await self._attempts(lambda client: client.completions.create(
            model=model, prompt=prompt, stream=True, stream_options={"include_usage": True},
            extra_body=dict(params)), keep_open=True)
        return TextStream(raw, self._releaser(raw, client), attempts=attempts, failures=failures, chat=False,
                          error=self._stream_error)
