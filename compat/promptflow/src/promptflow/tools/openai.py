"""``promptflow.tools.openai``: ``chat`` and ``completion`` over an ``OpenAIConnection``."""

from __future__ import annotations

from typing import Any

from promptflow.tools import _call

__all__ = ["chat", "completion"]


def chat(connection: Any, prompt: str, model: str = "", temperature: float = 1, top_p: float = 1,
         stream: bool = False, stop: list | None = None, max_tokens: int | None = None,
         presence_penalty: float | None = None, frequency_penalty: float | None = None, logit_bias: dict | None = None,
         user: str = "", function_call: object = None, functions: list | None = None, tool_choice: object = None,
         tools: list | None = None, response_format: object = None, seed: int | None = None, **kwargs: Any) -> Any:
    """A chat call: ``prompt`` is a template with role lines, ``kwargs`` its variables."""
    params = dict(temperature=temperature, top_p=top_p, stream=stream, stop=stop, max_tokens=max_tokens,
                  presence_penalty=presence_penalty, frequency_penalty=frequency_penalty, logit_bias=logit_bias,
                  user=user, function_call=function_call, functions=functions, tool_choice=tool_choice, tools=tools,
                  response_format=response_format, seed=seed)
    return _call.chat(connection, prompt, model, params, kwargs)


def completion(connection: Any, prompt: str, model: str = "", suffix: str | None = None, max_tokens: int = 16,
               temperature: float = 1.0, top_p: float = 1, n: int = 1, stream: bool = False,
               logprobs: int | None = None, echo: bool = False, stop: list | None = None,
               presence_penalty: float | None = None, frequency_penalty: float | None = None, best_of: int = 1,
               logit_bias: dict | None = None, user: str = "", **kwargs: Any) -> Any:
    """A text completion: ``prompt`` is a template, ``kwargs`` its variables."""
    params = dict(suffix=suffix, max_tokens=max_tokens, temperature=temperature, top_p=top_p, n=n, stream=stream,
                  echo=echo or None, stop=stop, presence_penalty=presence_penalty,
                  frequency_penalty=frequency_penalty, logit_bias=logit_bias, user=user)
    return _call.completion(connection, prompt, model, params, kwargs)
