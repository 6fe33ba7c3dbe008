"""JSON body checks both apps share: nesting depth (``json.loads`` recurses) and lone surrogates
(``json.loads`` accepts their escapes, stores do not)."""

from __future__ import annotations

import json
from typing import Any

from headrace.server.errors import BadRequestError

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects a body may have (400 beyond); no route needs more than a few."""


def load_json(raw: bytes | str, **options: Any) -> Any:
    """``json.loads(raw, **options)`` with the nesting bounded.

    Raises:
        BadRequestError: the body nests deeper than ``MAX_JSON_DEPTH`` (Python's parser would
            otherwise fail with a ``RecursionError`` somewhere past about 1,000 levels).
        ValueError: the text is not JSON (as ``json.loads``).
    """
    try:
        data = json.loads(raw, **options)
    except RecursionError:
        data = None
        deep = True
    else:
        deep = _deeper_than(data, MAX_JSON_DEPTH)
    if deep:
        raise BadRequestError(f"the body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep; "
                              "flatten it") from None
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def reject_lone_surrogates(raw: bytes, data: Any) -> None:
    """Refuse a parsed body holding a lone UTF-16 surrogate (``"\\ud800"``): it is no character, and
    stored it breaks every later read of the row.

    Raises:
        BadRequestError: naming the escape.
    """
    if b"\\u" not in raw:  # only an escape can make one
        return
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode()
        raise BadRequestError(f"the body is not valid JSON text: {bad} is a lone UTF-16 surrogate escape, not a "
                              "character; send the character's surrogate pair or its UTF-8 bytes") from None
