"""``Prompty``: prompt flow's ``.prompty`` files, run by headrace (``headrace.flows.prompty``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["Prompty"]


class Prompty:
    """``Prompty.load(path)`` gives a callable: ``prompty(question="...")`` returns the answer."""

    @classmethod
    def load(cls, source: str | Path, model: dict[str, Any] | None = None, **_: Any) -> Any:
        from headrace.flows.prompty import load_prompty
        from promptflow._client import _runner

        return load_prompty(source, lookup=lambda name: _runner().connection(name), model=model)
