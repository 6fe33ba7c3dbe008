"""The LLM runner the flow executor calls for ``llm`` nodes: connection, token budget, API call, trace.

The executor renders the node's template into ``ChatMessage``s and hands an ``LLMCall`` to an ``LLMRunner``.
``OpenAIRunner`` is the real one:

1. resolves the connection by name (the lookup the composition root gives it: the workspace's stored
   connections), then applies ``HEADRACE_CONNECTION_<NAME>_*`` overrides; a name unknown to the store may
   be defined by the environment alone (``connection_from_env``);
2. picks the model: ``deployment_name`` (Azure) or ``model`` from the node, else the connection's ``model``;
3. fits the prompt into ``min(context size, node's context_budget) - (max_tokens or 512)`` tokens, cutting
   trimmable blocks (``headrace.flows.budget``), or raises ``TokenBudgetError`` before any request;
4. calls the API (retries, timeouts: ``headrace.flows.llm``), streaming when asked;
5. returns the text (or its chunks) and a trace: what was sent, token counts (the server's usage when it
   reports one, else ours), what was cut, attempts, latency, and how tokens were counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from headrace import clock
from headrace.errors import FlowNodeError, NotFoundError
from headrace.flows import budget
from headrace.flows.connections import (
    DEFAULT_CONTEXT_SIZE,
    Connection,
    apply_env_overrides,
    connection_from_env,
    env_prefix,
    known_context_size,
)
from headrace.flows.llm import Completion, LLMClient, RetryPolicy, TextStream, Timeouts
from headrace.flows.llm_params import wants_message
from headrace.flows.local import DEFAULT_STOP, completion_prompt, local_counter
from headrace.flows.templates import ChatMessage

__all__ = ["LLMCall", "LLMResult", "LLMRunner", "OpenAIRunner"]


@dataclass
class LLMCall:
    """One LLM node execution, as the executor hands it over.

    Attributes:
        node: the node's name (for errors and traces).
        messages: the rendered chat (trimmable segments marked).
        connection: the connection's name.
        params: API parameters: ``model`` or ``deployment_name``, ``temperature``, ``max_tokens``, ``stop``...
        context_budget: the node's optional budget in tokens (prompt + completion), min'ed with the context size.
        stream: return the answer as an async iterator of chunks.
        language: the text's language, for sentence-level trimming (``en`` when None).
    """

    node: str
    messages: list[ChatMessage]
    connection: str
    params: dict[str, Any]
    context_budget: int | None = None
    stream: bool = False
    language: str | None = None


@dataclass
class LLMResult:
    """What a call produced.

    Attributes:
        output: the answer's text, or (``stream=True``) an async iterator of its chunks; when the call
            offers ``functions`` or ``tools``, the whole message (its ``function_call``/``tool_calls`` too).
        trace: ``connection``, ``model``, ``messages`` (as sent, after trimming), ``prompt_tokens``,
            ``completion_tokens``, ``usage_from`` (``server`` or ``counted``), ``cut``, ``attempts``, ``retries``,
            ``latency_ms``, ``counted_with``, ``context_size``, ``limit``, ``warnings``... For a stream the
            token counts and latency are filled in when the stream is exhausted.
    """

    output: str | dict[str, Any] | AsyncIterator[str]
    trace: dict[str, Any]


@runtime_checkable
class LLMRunner(Protocol):
    """Runs LLM calls for the flow executor."""

    async def run(self, call: LLMCall) -> LLMResult:
        """Run one call.

        Raises:
            NotFoundError: unknown connection.
            TokenBudgetError: the prompt cannot fit.
            LLMError: the API failed.
        """
        ...


def _as_int(value: Any, what: str, node: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FlowNodeError(node, f"{what} must be a whole number of tokens, got {value!r}") from None


class OpenAIRunner:
    """The ``LLMRunner`` over OpenAI-compatible APIs.

    Args:
        lookup: returns a stored connection by name; raises ``NotFoundError`` when there is none.
        sleep: how to wait between retries (tests inject a recorder).
        environ: where ``HEADRACE_CONNECTION_<NAME>_*`` overrides are read.
        retry: the retry policy.
        timeouts: connect/read/write timeouts.

    Example:
        >>> runner = OpenAIRunner(lambda name: Connection(name, "openai", "http://127.0.0.1:8000/v1", "key"))
        >>> # result = await runner.run(LLMCall("answer", messages, "llm", {"model": "gpt-4o-mini"}))
    """

    def __init__(self, lookup: Callable[[str], Connection], *, sleep: Callable[[float], Any] = asyncio.sleep,
                 environ: Mapping[str, str] = os.environ, retry: RetryPolicy | None = None,
                 timeouts: Timeouts | None = None):
        self.lookup = lookup
        self.sleep = sleep
        self.environ = environ
        self.retry = retry or RetryPolicy()
        self.timeouts = timeouts or Timeouts()
        self._clients: dict[tuple[Any, ...], Any] | None = None  # open SDK clients while a session lasts
        self._session_loop: asyncio.AbstractEventLoop | None = None

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Keep one SDK client (and its pool of HTTP connections) per connection until the block ends.

        Without a session each call opens a client and closes it (a new TCP/TLS connection per call):
        fine for one line, slow for a batch or a server. Sessions nest; the outermost one closes.
        """
        if self._clients is not None:
            yield
            return
        self.open_session()
        try:
            yield
        finally:
            await self.close_session()

    def open_session(self) -> None:
        """Start keeping clients in the running event loop (a long-lived app's form of ``session``); a no-op
        when one is open. End it with ``close_session``."""
        if self._clients is None:
            self._clients, self._session_loop = {}, asyncio.get_running_loop()

    async def close_session(self) -> None:
        """Close the clients kept since ``open_session``."""
        clients, self._clients, self._session_loop = self._clients or {}, None, None
        for client in clients.values():
            await client.close()

    def _shared_client(self, client: LLMClient) -> Any:
        """The session's SDK client for ``client``'s connection, opened on first use; None outside a session."""
        if self._clients is None or self._session_loop is not asyncio.get_running_loop():
            return None
        conn = client.connection
        key = (conn.type, conn.base_url, conn.api_key, conn.api_version)
        if key not in self._clients:
            self._clients[key] = client.open_client()
        return self._clients[key]

    def connection(self, name: str) -> Connection:
        """The connection called ``name``, with environment overrides applied.

        Raises:
            NotFoundError: neither stored nor defined by the environment.
            ConfigError: an override makes it invalid.
        """
        try:
            conn = self.lookup(name)
        except NotFoundError as exc:
            conn = connection_from_env(name, self.environ)  # type: ignore[assignment]
            if conn is None:
                known = str(exc).partition("; ")[2]  # the store's list of names, when it gave one
                raise NotFoundError(
                    "connection", name,
                    hint=(f"{known + '; ' if known.startswith('known:') else ''}create it with `headrace connection "
                          f"create {name} --type openai --base-url URL --api-key -`, or set {env_prefix(name)}BASE_URL"
                          " (and _API_KEY)"),
                ) from None
        return apply_env_overrides(conn, self.environ)

    async def run(self, call: LLMCall) -> LLMResult:
        """See ``LLMRunner.run``."""
        conn = self.connection(call.connection)
        params = dict(call.params)
        params.pop("stream", None)
        model = self._model(conn, params, call.node)
        warnings: list[str] = []
        context_size, size_from = self._context_size(conn, model, warnings)
        max_tokens = _as_int(params.get("max_tokens", params.get("max_completion_tokens")), "max_tokens", call.node)
        context_budget = _as_int(call.context_budget, "context_budget", call.node)
        limit = budget.prompt_limit(context_size, context_budget, max_tokens)
        counter = (local_counter(conn.extra) if conn.type == "local" else None) or budget.counter_for(model)
        fit = functools.partial(budget.fit, call.messages, limit, model, node=call.node,
                                language=call.language or "en", counter=counter)
        # In a thread unless it is quick: the first count loads a tokenizer (~1 s) and sentence splitting is
        # slow on long text; other nodes (a map's items, other lines) keep running meanwhile.
        fitted = fit() if budget.is_quick(counter, call.messages) else await asyncio.to_thread(fit)
        sent = [m.to_dict() for m in fitted.messages]
        trace: dict[str, Any] = {
            "connection": conn.name, "connection_type": conn.type, "model": model, "messages": sent,
            "params": params, "stream": call.stream, "cut": fitted.cut, "counted_with": fitted.counted_with,
            "counted_prompt_tokens": fitted.prompt_tokens, "context_size": context_size,
            "context_size_from": size_from, "context_budget": context_budget, "limit": limit, "warnings": warnings,
        }
        client = LLMClient(conn, retry=self.retry, timeouts=self.timeouts, sleep=self.sleep, node=call.node)
        client.shared = self._shared_client(client)
        if conn.type == "local":
            prompt = completion_prompt(fitted.messages)
            trace["prompt"] = prompt
            params.setdefault("stop", DEFAULT_STOP)
            started = clock.monotonic()
            if call.stream:
                stream = await client.complete_stream(prompt, model, params)
                return self._streamed(stream, trace, counter, started)
            return self._finished(await client.complete(prompt, model, params), trace, counter, started)
        started = clock.monotonic()
        if call.stream and not wants_message(params):  # a function call is one message, never a stream
            stream = await client.chat_stream(sent, model, params)
            return self._streamed(stream, trace, counter, started)
        done = await client.chat(sent, model, params)
        result = self._finished(done, trace, counter, started)
        if wants_message(params) and done.message is not None:
            result.output = done.message
        return result

    @staticmethod
    def _model(conn: Connection, params: dict[str, Any], node: str) -> str:
        deployment = params.pop("deployment_name", None)
        model = params.pop("model", None)
        # Azure calls deployments; any other API calls models. A flow written for one still runs on the other.
        chosen = (deployment or model) if conn.type == "azure_openai" else (model or deployment)
        chosen = chosen or conn.model
        if not chosen:
            what = "deployment_name" if conn.type == "azure_openai" else "model"
            raise FlowNodeError(node, f"no model to call: set `{what}` in the node's inputs, or --model on the "
                                      f"connection {conn.name!r}")
        return str(chosen)

    @staticmethod
    def _context_size(conn: Connection, model: str, warnings: list[str]) -> tuple[int, str]:
        if conn.context_size:
            return conn.context_size, "connection"
        known = known_context_size(model)
        if known:
            return known, "model table"
        warnings.append(f"context size of model {model!r} unknown: assumed {DEFAULT_CONTEXT_SIZE} tokens; set it "
                        f"with `headrace connection create {conn.name} ... --context-size N`")
        return DEFAULT_CONTEXT_SIZE, "default"

    @staticmethod
    def _usage(trace: dict[str, Any], usage: dict[str, int] | None, text: str, counter: budget.TokenCounter) -> None:
        if usage and "prompt_tokens" in usage and "completion_tokens" in usage:
            trace.update(prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
                         usage_from="server")
        else:
            trace.update(prompt_tokens=trace["counted_prompt_tokens"], completion_tokens=counter.count(text),
                         usage_from="counted")
        trace["total_tokens"] = trace["prompt_tokens"] + trace["completion_tokens"]

    def _finished(self, done: Completion, trace: dict[str, Any], counter: budget.TokenCounter,
                  started: float) -> LLMResult:
        trace.update(latency_ms=round((clock.monotonic() - started) * 1000, 1), attempts=done.attempts,
                     retries=[a.as_dict() for a in done.failures], response_model=done.model,
                     finish_reason=done.finish_reason)
        self._usage(trace, done.usage, done.text, counter)
        return LLMResult(done.text, trace)

    def _streamed(self, stream: TextStream, trace: dict[str, Any], counter: budget.TokenCounter,
                  started: float) -> LLMResult:
        trace.update(attempts=stream.attempts, retries=[a.as_dict() for a in stream.failures])

        def done(s: TextStream) -> None:
            trace.update(latency_ms=round((clock.monotonic() - started) * 1000, 1), response_model=s.model,
                         finish_reason=s.finish_reason)
            self._usage(trace, s.usage, s.text, counter)

        stream.on_done.append(done)
        return LLMResult(stream, trace)
