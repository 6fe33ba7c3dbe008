"""Token counting and the token budget: fit a prompt into a model's context by cutting trimmable text.

Counting (``counter_for``):

- OpenAI models are counted with their own tokenizer, offline (``bpe_openai`` bundles the files):
  ``o200k_base`` for gpt-4o*, gpt-4.1*, gpt-5*, o1/o3/o4*; ``cl100k_base`` for gpt-4*, gpt-3.5*/gpt-35*.
- A local GGUF model (``llama_cpp`` installed and the connection's ``extra.model_path`` set) is counted with its
  own vocabulary (see ``headrace.flows.local``).
- Any other model (llama, gemma, mistral, unknown) gets a conservative *estimate*:
  ``max(ceil(cl100k_base count * 1.25), ceil(characters / 3))``. Open models' tokenizers mostly produce more
  tokens than cl100k_base for the same text; over-counting trims a little too much, under-counting fails.

A chat prompt costs, as OpenAI documents it, 3 tokens per message plus the tokens of its role and content,
plus 3 that prime the reply (``MESSAGE_OVERHEAD``, ``REPLY_OVERHEAD``).

Fitting (``fit``): when the prompt is over the limit, trimmable segments (``{% trimmable %}`` blocks) are cut,
never any other text. The last block goes first: each block that must go entirely to fit is removed whole;
in the block where removing part suffices, whole sentences are removed from its end (split with ``pysbd``),
keeping as much as fits. When even every trimmable block removed does not fit, ``TokenBudgetError`` is
raised, before any API call.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from headrace.errors import TokenBudgetError
from headrace.flows.templates import ChatMessage, Segment

__all__ = [
    "COMPLETION_RESERVE",
    "ESTIMATE",
    "MESSAGE_OVERHEAD",
    "REPLY_OVERHEAD",
    "FitResult",
    "TokenCounter",
    "is_quick",
    "count_tokens",
    "counter_for",
    "encoding_for_model",
    "fit",
    "prompt_limit",
]

MESSAGE_OVERHEAD = 3
"""Tokens each chat message costs besides its role and content (OpenAI's documented framing)."""

REPLY_OVERHEAD = 3
"""Tokens that prime the assistant's reply, once per prompt."""

COMPLETION_RESERVE = 512
"""Tokens kept free for the answer when the node sets no ``max_tokens``."""

ESTIMATE = "estimate: max(cl100k_base x 1.25, chars / 3)"
"""The ``counted_with`` value of the conservative estimate used for models without a known tokenizer."""

# Longest prefix wins; names are lower case, without a "vendor/" prefix.
_ENCODINGS = {
    "gpt-4o": "o200k_base", "gpt-4.1": "o200k_base", "gpt-4.5": "o200k_base", "gpt-5": "o200k_base",
    "o1": "o200k_base", "o3": "o200k_base", "o4": "o200k_base", "chatgpt-4o": "o200k_base",
    "gpt-4": "cl100k_base", "gpt-35": "cl100k_base", "gpt-3.5": "cl100k_base",
    "text-embedding-3": "cl100k_base", "text-embedding-ada-002": "cl100k_base",
}
_CHUNK_CHARS = 100_000  # bpe_openai refuses a single call over 200k tokens: count long text in pieces
_PREVIEW = 80
_WINDOW = 1500  # characters before the cut point split into sentences (longer sentences widen it)
_LOOKAHEAD = 200


@dataclass(frozen=True)
class TokenCounter:
    """Counts the tokens of a text, and says how (``name`` goes to the trace as ``counted_with``)."""

    name: str
    count: Callable[[str], int]


_loaded: set[str] = set()  # encodings already in memory


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    # Loaded (~1 s) only when a count is needed. bpe_openai 0.1.4 reads its data with the deprecated
    # importlib.resources.open_binary: not our warning to show.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        encoding = bpe_openai.get_encoding(name)
    _loaded.add(name)
    return encoding


def is_quick(counter: TokenCounter, messages: Sequence[ChatMessage], max_chars: int = 4000) -> bool:
    """Whether fitting ``messages`` is quick enough to do without a worker thread: a short prompt, and a
    counter with nothing left to load (the estimate, or an OpenAI encoding already read)."""
    if sum(len(m.content) for m in messages) > max_chars:
        return False
    return counter.name == ESTIMATE or counter.name in _loaded


def _bpe_count(encoding: str, text: str) -> int:
    enc = _encoding(encoding)
    total = 0
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK_CHARS)
        if end < len(text):  # cut at whitespace so no token is split
            space = text.rfind(" ", start + _CHUNK_CHARS // 2, end)
            end = space if space > start else end
        total += len(enc.encode_ordinary(text[start:end]))  # special-token text counts as plain text
        start = end
    return total


def encoding_for_model(model: str | None) -> str | None:
    """The tokenizer (``o200k_base``/``cl100k_base``) of an OpenAI model, or None for any other model.

    Example:
        >>> encoding_for_model("gpt-4o-mini"), encoding_for_model("gpt-35-turbo"), encoding_for_model("llama3")
        ('o200k_base', 'cl100k_base', None)
    """
    if not model:
        return None
    key = model.rsplit("/", 1)[-1].strip().lower()
    best = max((p for p in _ENCODINGS if key.startswith(p)), key=len, default=None)
    return _ENCODINGS[best] if best else None


def _estimate(text: str) -> int:
    if not text:
        return 0
    return max(math.ceil(_bpe_count("cl100k_base", text) * 1.25), math.ceil(len(text) / 3))


def counter_for(model: str | None) -> TokenCounter:
    """The counter for ``model``: its OpenAI tokenizer, else the conservative estimate (``ESTIMATE``)."""
    encoding = encoding_for_model(model)
    if encoding is None:
        return TokenCounter(ESTIMATE, _estimate)
    return TokenCounter(encoding, lambda text: _bpe_count(encoding, text))


def _message_tokens(message: ChatMessage, counter: TokenCounter) -> int:
    return MESSAGE_OVERHEAD + counter.count(message.role) + counter.count(message.content)


def count_tokens(messages: Sequence[ChatMessage], model: str | None = None, *,
                 counter: TokenCounter | None = None) -> int:
    """The prompt tokens of a chat: per message 3 + role + content, plus 3 for the reply.

    Args:
        messages: the chat.
        model: picks the tokenizer (see ``counter_for``).
        counter: a counter to use instead (a local model's vocabulary).
    """
    counter = counter or counter_for(model)
    return sum(_message_tokens(m, counter) for m in messages) + REPLY_OVERHEAD


def prompt_limit(context_size: int, context_budget: int | None, max_tokens: int | None) -> int:
    """The tokens a prompt may use: ``min(context_size, context_budget) - (max_tokens or COMPLETION_RESERVE)``.

    May be zero or negative (then nothing fits, and ``fit`` raises ``TokenBudgetError``).
    """
    window = context_size if context_budget is None else min(context_size, context_budget)
    return window - (max_tokens if max_tokens is not None else COMPLETION_RESERVE)


@dataclass
class FitResult:
    """A prompt that fits.

    Attributes:
        messages: the messages to send (copies; the input is never changed).
        prompt_tokens: their count.
        cut: what was removed, in the order it was removed: ``{"message": index, "block": number among the
            prompt's trimmable blocks in reading order, "what": "block" | "sentences", "tokens_removed",
            "chars_kept" (for "sentences"), "preview": the removed text's start}``.
        counted_with: the counter's name.
    """

    messages: list[ChatMessage]
    prompt_tokens: int
    cut: list[dict[str, Any]] = field(default_factory=list)
    counted_with: str = ""


class _Prompt:
    """Mutable working copy: per-message token counts, recounted only for the message that changes."""

    def __init__(self, messages: Sequence[ChatMessage], counter: TokenCounter):
        self.counter = counter
        self.messages = [ChatMessage(m.role, [replace(s) for s in m.segments]) for m in messages]
        self.tokens = [_message_tokens(m, counter) for m in self.messages]

    @property
    def total(self) -> int:
        return sum(self.tokens) + REPLY_OVERHEAD

    def set_text(self, mi: int, si: int, text: str) -> int:
        """Replace a segment's text; returns the new total."""
        self.messages[mi].segments[si].text = text
        self.tokens[mi] = _message_tokens(self.messages[mi], self.counter)
        return self.total

    def without_trimmable(self) -> int:
        """The total with every trimmable segment empty (the smallest this prompt can get)."""
        bare = [ChatMessage(m.role, [s for s in m.segments if not s.trimmable]) for m in self.messages]
        return count_tokens(bare, counter=self.counter)

    def blocks(self) -> list[tuple[int, int]]:
        """(message index, segment index) of every trimmable segment with text, in reading order."""
        return [(mi, si) for mi, m in enumerate(self.messages) for si, s in enumerate(m.segments)
                if s.trimmable and s.text]

    def result(self, cut: list[dict[str, Any]]) -> FitResult:
        kept = []
        for m in self.messages:
            segments = [s for s in m.segments if s.text or not s.trimmable]
            kept.append(ChatMessage(m.role, _tidy(segments)))
        return FitResult(kept, count_tokens(kept, counter=self.counter), cut, self.counter.name)


def _tidy(segments: list[Segment]) -> list[Segment]:
    """Strip the whitespace a cut leaves at the end of a message."""
    while segments and not segments[-1].text.strip():
        segments.pop()
    if segments:
        segments[-1].text = segments[-1].text.rstrip()
    return segments


def _sentences(text: str, language: str) -> list[str]:
    import pysbd
    from pysbd.languages import LANGUAGE_CODES

    lang = language.split("-")[0].split("_")[0].lower() if language else "en"
    parts = pysbd.Segmenter(language=lang if lang in LANGUAGE_CODES else "en", clean=False).segment(text)
    return parts if "".join(parts) == text else [text]  # pysbd keeps the text exact; if not, treat as one


def _preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def fit(messages: Sequence[ChatMessage], limit: int, model: str | None = None, *, node: str = "",
        language: str = "en", counter: TokenCounter | None = None) -> FitResult:
    """Cut trimmable text until the prompt uses at most ``limit`` tokens (see the module docstring).

    Args:
        messages: the rendered chat.
        limit: the tokens the prompt may use (see ``prompt_limit``).
        model: picks the tokenizer.
        node: the node's name, for errors.
        language: the text's language for sentence splitting (``en``, ``fr``, ``de``...; unknown: ``en``).
        counter: a counter to use instead of the model's.

    Returns:
        The prompt to send, its token count and what was cut.

    Raises:
        TokenBudgetError: the prompt does not fit even with every trimmable block removed.

    Example:
        >>> from headrace.flows.templates import render_chat
        >>> msgs = render_chat("# user:\\n{% trimmable %}{{ ctx }}{% endtrimmable %}\\nQ?", {"ctx": "x " * 500},
        ...                    origin="t")
        >>> result = fit(msgs, 50, "gpt-4o")
        >>> result.prompt_tokens <= 50, result.cut[0]["what"]
        (True, 'block')
    """
    prompt = _Prompt(messages, counter or counter_for(model))
    total = prompt.total
    if total <= limit:
        return prompt.result([])
    minimal = prompt.without_trimmable()
    if minimal > limit:
        blocks = len(prompt.blocks())
        raise TokenBudgetError(
            node, minimal, limit,
            f"counted with {prompt.counter.name}; the prompt is {total} tokens with its {blocks} trimmable "
            "block(s); raise the node's context_budget or the connection's context size, lower max_tokens, or "
            "mark more of the template {% trimmable %}",
        )
    blocks = prompt.blocks()
    cut: list[dict[str, Any]] = []
    for number in range(len(blocks) - 1, -1, -1):
        mi, si = blocks[number]
        text = prompt.messages[mi].segments[si].text
        without = prompt.set_text(mi, si, "")
        if without > limit:  # must go entirely: keep it removed and go on with the previous block
            cut.append({"message": mi, "block": number, "what": "block", "tokens_removed": total - without,
                        "preview": _preview(text)})
            total = without
            continue
        kept = text[:_sentence_cut(prompt, mi, si, text, limit, language)]
        after = prompt.set_text(mi, si, kept)
        entry: dict[str, Any] = {"message": mi, "block": number, "what": "sentences" if kept else "block",
                                 "tokens_removed": total - after, "preview": _preview(text[len(kept):])}
        if kept:
            entry["chars_kept"] = len(kept)
        cut.append(entry)
        break
    return prompt.result(cut)


def _sentence_cut(prompt: _Prompt, mi: int, si: int, text: str, limit: int, language: str) -> int:
    """The length of the longest prefix of ``text`` that fits and ends at a sentence boundary (0: none).

    First the longest fitting prefix by characters (binary search; a prefix's tokens grow with its length),
    then the last sentence end before it. Only a window before that point is split into sentences: pysbd
    takes seconds on a whole page.
    """
    low, high = 0, len(text)  # the empty prefix is known to fit, the whole text known not to
    while low < high:
        mid = (low + high + 1) // 2
        if prompt.set_text(mi, si, text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    start = max(0, low - _WINDOW)
    while True:
        window = text[start:low + _LOOKAHEAD]  # the lookahead lets a sentence ending exactly at ``low`` show
        ends, position = [], start
        for sentence in _sentences(window, language):
            position += len(sentence)
            ends.append(position)
        # A window's last piece may be a cut sentence; its first may be a sentence's tail (ending is fine).
        candidates = [end for end in ends[:-1] if end <= low]
        if start + len(window) == len(text) and ends and ends[-1] <= low:
            candidates.append(ends[-1])
        for end in reversed(candidates):
            if prompt.set_text(mi, si, text[:end]) <= limit:
                return end
        if start == 0:
            return 0
        start = max(0, start - 4 * _WINDOW)  # a very long sentence: look further back
