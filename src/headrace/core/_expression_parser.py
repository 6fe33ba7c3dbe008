"""The grammar of parameter expressions (see ``expressions``): the text after ``@`` to a syntax tree.

A term is a function call ``name(arg, …)`` optionally followed by ``.property``, a string literal in
single quotes (``''`` inside is a quote), or an integer (may be negative).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Node", "Parser", "Problem"]


class Problem(Exception):
    """A malformed expression; ``pos`` is where in the value (0 is the ``@``)."""

    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.pos = pos


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<int>-?\d+)|(?P<name>[A-Za-z_]\w*)|(?P<str>'(?:[^']|'')*')|(?P<punct>[(),.]))"
)
_MAX_DEPTH = 32

# Node shapes: ("lit", value, pos) | ("call", name, [args], pos) | ("prop", node, name, pos)
Node = tuple[Any, ...]


class Parser:
    """Parses the text after the ``@`` into a ``Node``; ``offset`` is added to every position."""

    def __init__(self, text: str, offset: int):
        self.text, self.offset, self.i = text, offset, 0

    def problem(self, message: str, at: int | None = None) -> Problem:
        return Problem(message, self.offset + (self.i if at is None else at))

    def token(self) -> tuple[str, str, int, int] | None:
        """The next token as (kind, text, start, end), without consuming it; None at the end."""
        match = _TOKEN_RE.match(self.text, self.i)
        if match is None:
            rest = self.text[self.i :].lstrip()
            if not rest:
                return None
            what = "an unterminated 'string'" if rest[0] == "'" else repr(rest[0])
            raise self.problem(f"unexpected {what}", len(self.text) - len(rest))
        kind = match.lastgroup or ""
        return kind, match[kind], match.start(kind), match.end()

    def take(self) -> tuple[str, str, int]:
        tok = self.token()
        if tok is None:
            raise self.problem("unexpected end of expression", len(self.text))
        self.i = tok[3]
        return tok[:3]

    def term(self, depth: int = 0) -> Node:
        if depth > _MAX_DEPTH:
            raise self.problem(f"expression nested deeper than {_MAX_DEPTH} levels")
        kind, text, pos = self.take()
        if kind == "int":
            return ("lit", int(text), self.offset + pos)
        if kind == "str":
            return ("lit", text[1:-1].replace("''", "'"), self.offset + pos)
        if kind != "name":
            raise self.problem(f"expected a function call, a 'string' or a number, found {text!r}", pos)
        tok = self.token()
        if tok is None or tok[1] != "(":
            raise self.problem(f"{text!r} must be called: {text}(…); bare names are not supported", pos)
        self.take()
        args: list[Node] = []
        tok = self.token()
        if tok is not None and tok[1] == ")":
            self.take()
        else:
            while True:
                args.append(self.term(depth + 1))
                kind2, sep, sep_pos = self.take()
                if sep == ")" and kind2 == "punct":
                    break
                if sep != "," or kind2 != "punct":
                    raise self.problem(f"expected ',' or ')', found {sep!r}", sep_pos)
        node: Node = ("call", text, args, self.offset + pos)
        while (tok := self.token()) is not None and tok[1] == ".":
            self.take()
            kind3, prop, prop_pos = self.take()
            if kind3 != "name":
                raise self.problem(f"expected a property name after '.', found {prop!r}", prop_pos)
            node = ("prop", node, prop, self.offset + prop_pos)
        return node

    def parse(self) -> Node:
        node = self.term()
        tok = self.token()
        if tok is not None:
            raise self.problem(f"unexpected {tok[1]!r} after the expression; one term per value", tok[2])
        return node
