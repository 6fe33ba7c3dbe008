"""A JSON body check both apps share: ``json.loads`` accepts lone surrogate escapes, stores do not."""

from __future__ import annotations

import json
from typing import Any

from headrace.server.errors import BadRequestError


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
