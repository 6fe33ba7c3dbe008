"""What ``promptflow.tools.openai`` and ``promptflow.tools.aoai`` share: render, type, call, answer."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine, Iterator
from typing import Any

from headrace.flows.llm import LLMClient
from headrace.flows.llm_params import api_params, wants_message
from headrace.flows.templates import render_chat, render_prompt


def _sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine from synchronous tool code, also when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _headrace(connection: Any) -> Any:
    to_headrace = getattr(connection, "to_headrace", None)
    if to_headrace is None:
        raise TypeError(f"connection must be an OpenAIConnection or AzureOpenAIConnection, got "
                        f"{type(connection).__name__}")
    return to_headrace()


def _stream(text: str) -> Iterator[str]:
    yield text


def chat(connection: Any, prompt: str, model: str, params: dict[str, Any], variables: dict[str, Any]) -> Any:
    """Render ``prompt`` (role lines split messages; undefined variables render empty, as in prompt flow)
    and call the chat API; the answer's text, or the message when functions/tools are offered."""
    conn = _headrace(connection)
    stream = bool(params.pop("stream", False))
    sent = api_params(params, "chat")
    messages = [m.to_dict() for m in render_chat(prompt, variables, origin="prompt", strict=False)]
    done = _sync(LLMClient(conn, node="chat").chat(messages, model or conn.model or "", sent))
    if wants_message(sent):
        return done.message
    return _stream(done.text) if stream else done.text


def completion(connection: Any, prompt: str, model: str, params: dict[str, Any], variables: dict[str, Any]) -> Any:
    """Render ``prompt`` and call the completions API; the text."""
    conn = _headrace(connection)
    stream = bool(params.pop("stream", False))
    text = render_prompt(prompt, variables, origin="prompt", strict=False)
    done = _sync(LLMClient(conn, node="completion").complete(text, model or conn.model or "", api_params(params, "completion")))
    return _stream(done.text) if stream else done.text
