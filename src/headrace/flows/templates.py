"""Jinja2 prompt templates: sandboxed rendering, chat role lines, injection escaping, trimmable blocks.

A chat template is rendered to text, then split into messages at *role lines*: a line holding only a role
name and a colon, optionally after ``#`` (``# system:``, ``user:``, ``# Assistant:``; case-insensitive).

Role lines come only from the template's own text. Every line of every ``{{ ... }}`` output gets a
private-use marker (Jinja's ``finalize``, so filters and string operations see values unchanged), and a
line holding a marker never starts a message, however the value text is split across expressions
(``{{ a }}{{ b }}``) or built by filters. The markers are removed from the final message text. A role
taken from data must therefore be chosen by the template (``{% if m.role == "user" %}# user:{% endif %}``),
never printed as ``{{ m.role }}:``; macro output counts as a value too.

``{% trimmable %}...{% endtrimmable %}`` marks text the token budget may cut. It renders to the text between
two private-use sentinels, which become a ``Segment(trimmable=True)`` of the message; the sentinels are
removed from every value first, so data cannot open or close a block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from headrace.errors import FlowError

__all__ = ["ChatMessage", "ROLES", "Segment", "render_chat", "render_prompt", "template_problems",
           "template_variables"]

ROLES = ("system", "user", "assistant", "function", "tool")

_TRIM_OPEN = "\ue000"
_TRIM_CLOSE = "\ue001"
_ESCAPE = "\ue002"  # put before a value's line that looks like a role line; removed from the final text
_PRIVATE = str.maketrans("", "", _TRIM_OPEN + _TRIM_CLOSE + _ESCAPE)
_ROLE_LINE = re.compile(r"^\s*#?\s*(" + "|".join(ROLES) + r")\s*:\s*$", re.IGNORECASE)
_SENTINELS = re.compile(f"([{_TRIM_OPEN}{_TRIM_CLOSE}])")


@dataclass
class Segment:
    """A piece of a message's text.

    Attributes:
        text: the text.
        trimmable: True when it came from a ``{% trimmable %}`` block, so a token budget may cut it.
    """

    text: str
    trimmable: bool = False


@dataclass
class ChatMessage:
    """One chat message, made of segments (some of them trimmable).

    Attributes:
        role: ``system``, ``user``, ``assistant``, ``tool`` or ``function``.
        segments: the message's text, in order.
    """

    role: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def content(self) -> str:
        """The message text: every segment joined."""
        return "".join(s.text for s in self.segments)

    def to_dict(self) -> dict[str, str]:
        """``{"role": ..., "content": ...}``, the shape of the OpenAI chat API."""
        return {"role": self.role, "content": self.content}


class _TrimmableExtension(Extension):
    """``{% trimmable %}...{% endtrimmable %}``: wraps its body in sentinels (a nested block joins the outer)."""

    tags = {"trimmable"}

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endtrimmable",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_wrap"), [], [], body).set_lineno(lineno)

    def _wrap(self, caller: Any) -> str:
        inner = caller().replace(_TRIM_OPEN, "").replace(_TRIM_CLOSE, "")
        return f"{_TRIM_OPEN}{inner}{_TRIM_CLOSE}"


def _mark(value: Any) -> str:
    """Mark every line of an expression's output, so no line holding value text can be a role line.

    Applied by Jinja to each ``{{ ... }}`` output (``finalize``), after filters and string operations have
    seen the value unchanged; the marks are removed from the final text.
    """
    return _ESCAPE + str(value).replace("\n", "\n" + _ESCAPE)


# trim_blocks + keep_trailing_newline: what prompt flow templates expect, so imported ones render the same.
_OPTIONS: dict[str, Any] = dict(finalize=_mark, extensions=[_TrimmableExtension], trim_blocks=True,
                                keep_trailing_newline=True, autoescape=False)
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, **_OPTIONS)
# Imported prompt flow flows (``compat: promptflow``): an undefined variable renders empty, as there.
_LENIENT_ENV = SandboxedEnvironment(undefined=jinja2.Undefined, **_OPTIONS)


_INLINE_END = re.compile(r"\S.*\{%-?\s*endtrimmable\s*%\}$")


def _prepare(source: str) -> str:
    """Keep the newline ``trim_blocks`` would eat where eating it joins lines by surprise.

    A block tag ending the line before a role line (``{% endfor %}`` then ``# user:``), and an inline
    ``{% endtrimmable %}`` (text before it on its line), get Jinja's ``+%}``: otherwise the next line is
    glued on, and a glued role line silently stops starting a message.
    """
    lines = source.translate(_PRIVATE).split("\n")
    for i, line in enumerate(lines[:-1]):
        if line.endswith("%}") and not line.endswith(("-%}", "+%}")) and (
                _ROLE_LINE.match(lines[i + 1]) or _INLINE_END.search(line)):
            lines[i] = line[:-2] + "+%}"
    return "\n".join(lines)


@lru_cache(maxsize=256)
def _compile(source: str, strict: bool = True) -> jinja2.Template:
    return (_ENV if strict else _LENIENT_ENV).from_string(_prepare(source))


def _template(source: str, origin: str, strict: bool = True) -> jinja2.Template:
    try:
        return _compile(source, strict)
    except jinja2.TemplateSyntaxError as exc:
        raise FlowError(f"{origin}, line {exc.lineno}: template syntax error: {exc.message}") from exc


def template_problems(source: str, origin: str) -> list[str]:
    """Syntax problems of a template, for validation before any run (empty when it compiles).

    Args:
        source: the template text.
        origin: the file name to put in the messages.
    """
    try:
        _compile(source)
    except jinja2.TemplateSyntaxError as exc:
        return [f"{origin}, line {exc.lineno}: template syntax error: {exc.message}"]
    return []


def template_variables(source: str) -> set[str]:
    """The names a template reads from its variables (loop and ``set`` names excluded)."""
    return set(meta.find_undeclared_variables(_ENV.parse(_prepare(source))))


def _clean(value: Any) -> Any:
    """Strip private-use sentinels from every string of a value (nested in lists and dicts too)."""
    if isinstance(value, str):
        return value.translate(_PRIVATE)
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    return value


def _render(source: str, variables: dict[str, Any], origin: str, strict: bool = True) -> str:
    template = _template(source, origin, strict)
    try:
        return template.render(**{k: _clean(v) for k, v in variables.items()})
    except jinja2.UndefinedError as exc:
        hint = "; give it in the node's inputs" if "is undefined" in str(exc) else ""
        raise FlowError(f"{origin}: {exc}{hint}") from exc
    except SecurityError as exc:
        raise FlowError(f"{origin}: the template tried an unsafe operation (blocked by the sandbox): {exc}") from exc
    except jinja2.TemplateError as exc:
        raise FlowError(f"{origin}: template error: {exc}") from exc


def render_prompt(source: str, variables: dict[str, Any], *, origin: str, strict: bool = True) -> str:
    """Render a prompt template to a string (trimmable markers removed, no role splitting).

    Args:
        source: the Jinja2 template text.
        variables: the template variables.
        origin: the template's file name, used in error messages.
        strict: an undefined variable is an error (False: it renders empty, as in prompt flow).

    Returns:
        The rendered text.

    Raises:
        FlowError: a syntax error (with its line), an undefined variable (named), or an unsafe operation.
    """
    return _render(source, variables, origin, strict).translate(_PRIVATE)


def render_chat(source: str, variables: dict[str, Any], *, origin: str, strict: bool = True) -> list[ChatMessage]:
    """Render a chat template and split it into messages at its role lines.

    Text with no role line at all becomes one ``user`` message. Each message is stripped of surrounding
    whitespace; ``{% trimmable %}`` blocks become separate trimmable segments.

    Args:
        source: the Jinja2 template text.
        variables: the template variables; their text can never form a role line (see the module docstring).
        origin: the template's file name, used in error messages.
        strict: an undefined variable is an error (False: it renders empty, as in prompt flow).

    Returns:
        The messages, in order.

    Raises:
        FlowError: a syntax error, an undefined variable, an unsafe operation, or text before the first
            role line.

    Example:
        >>> [m.to_dict() for m in render_chat("# system:\\nBe brief.\\n# user:\\n{{ q }}", {"q": "Hi"}, origin="t")]
        [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]
    """
    text = _render(source, variables, origin, strict)
    chunks = _split_roles(text)
    if chunks[0][0] is None:
        if len(chunks) == 1:
            chunks = [("user", chunks[0][1])]
        elif chunks[0][1].translate(_PRIVATE).strip():
            first = chunks[0][1].translate(_PRIVATE).strip().splitlines()[0]
            raise FlowError(f"{origin}: text before the first role line ({first[:60]!r}); start the template "
                            f"with a role line such as '# system:' or '# user:'")
        else:
            chunks = chunks[1:]
    return [ChatMessage(role, _segments(body)) for role, body in chunks]


def _split_roles(text: str) -> list[tuple[str | None, str]]:
    """``[(role, body)]`` in order; the first role is None for the text before any role line.

    A trimmable block that spans a role line is closed at the end of one message and reopened in the next.
    """
    chunks: list[tuple[str | None, str]] = []
    role: str | None = None
    lines: list[str] = []
    open_at_start = is_open = False
    for line in text.split("\n"):
        match = _ROLE_LINE.match(line.translate(_PRIVATE))
        if match and _ESCAPE not in line:
            body = "\n".join(lines)
            chunks.append((role, (_TRIM_OPEN if open_at_start else "") + body + (_TRIM_CLOSE if is_open else "")))
            is_open = _after(line, is_open)
            role, lines, open_at_start = match.group(1).lower(), [], is_open
        else:
            lines.append(line)
            is_open = _after(line, is_open)
    body = "\n".join(lines)
    chunks.append((role, (_TRIM_OPEN if open_at_start else "") + body + (_TRIM_CLOSE if is_open else "")))
    return chunks


def _after(line: str, is_open: bool) -> bool:
    """Whether a trimmable block is open after ``line``."""
    for ch in reversed(line):
        if ch == _TRIM_OPEN:
            return True
        if ch == _TRIM_CLOSE:
            return False
    return is_open


def _segments(body: str) -> list[Segment]:
    """Cut a message body at the sentinels: trimmable blocks stay separate, plain text is merged."""
    segments: list[Segment] = []
    trimmable = False
    for part in _SENTINELS.split(body):
        if part == _TRIM_OPEN:
            trimmable = True
        elif part == _TRIM_CLOSE:
            trimmable = False
        elif part:
            text = part.replace(_ESCAPE, "")
            if not trimmable and segments and not segments[-1].trimmable:
                segments[-1].text += text
            else:
                segments.append(Segment(text, trimmable))
    return _strip(segments)


def _strip(segments: list[Segment]) -> list[Segment]:
    """Strip the message's leading and trailing whitespace, dropping segments left empty."""
    while segments and not segments[0].text.strip():
        segments.pop(0)
    while segments and not segments[-1].text.strip():
        segments.pop()
    if segments:
        segments[0].text = segments[0].text.lstrip()
        segments[-1].text = segments[-1].text.rstrip()
    return segments
