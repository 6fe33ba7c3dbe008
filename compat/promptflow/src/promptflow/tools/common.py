"""``promptflow.tools.common``: ``render_jinja_template`` and ``parse_chat``, for tools that build prompts."""

from __future__ import annotations

import re
from typing import Any

from headrace.flows.templates import ROLES, render_prompt

__all__ = ["parse_chat", "render_jinja_template"]

_ROLE_LINE = re.compile(r"^\s*#?\s*(" + "|".join(ROLES) + r")\s*:\s*$", re.IGNORECASE | re.MULTILINE)


def render_jinja_template(prompt: str, trim_blocks: bool = True, keep_trailing_newline: bool = True,
                          **kwargs: Any) -> str:
    """Render a Jinja template (sandboxed; an undefined variable renders empty, as in prompt flow)."""
    return render_prompt(prompt, kwargs, origin="prompt", strict=False)


def parse_chat(chat_str: str, images: Any = None, valid_roles: list[str] | None = None,
               image_detail: str = "auto") -> list[dict[str, str]]:
    """Split rendered chat text at its role lines into ``[{"role", "content"}]`` (text before the first
    role line is a system message, as in prompt flow)."""
    roles = {r.lower() for r in (valid_roles or ROLES)}
    parts = _ROLE_LINE.split(chat_str)
    messages = []
    if parts[0].strip():
        messages.append({"role": "system", "content": parts[0].strip()})
    for role, body in zip(parts[1::2], parts[2::2], strict=True):
        if role.lower() not in roles:
            raise ValueError(f"role {role!r} is not one of {', '.join(sorted(roles))}")
        messages.append({"role": role.lower(), "content": body.strip()})
    return messages
