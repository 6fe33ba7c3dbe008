"""``Prompty``: placeholder until headrace runs ``.prompty`` files (see docs/flows.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["Prompty"]


class Prompty:
    """prompt flow's Prompty; headrace does not run ``.prompty`` files yet."""

    @classmethod
    def load(cls, source: Any, **kwargs: Any) -> Prompty:
        raise NotImplementedError(f"Prompty.load({source!r}): headrace does not run .prompty files yet; turn the "
                                  "prompt into an llm node of a flow (docs/flows.md, Migrating from prompt flow)")
