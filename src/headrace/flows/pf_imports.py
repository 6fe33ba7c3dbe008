"""The Python side of importing a prompt flow: rewriting tool files' ``promptflow`` imports.

``from promptflow.core import tool`` (also ``from promptflow import ...`` and ``from promptflow._core.tool
import tool``; ``log_metric`` too) becomes ``from headrace.flows import ...``. Any other promptflow import is
left alone: a warning when the ``headrace-promptflow`` compatibility package serves the module
(``SERVED_MODULES``), not converted otherwise (the flow would fail to import).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["SERVED_MODULES", "rewrite_imports"]

_PF_IMPORT = re.compile(r"^\s*(from\s+promptflow[\w.]*\s+import\b|import\s+promptflow\b)")
_TOOL_IMPORT = re.compile(
    r"^(?P<indent>\s*)from\s+(?P<module>promptflow\.core|promptflow|promptflow\._core\.tool)\s+import\s+"
    r"(?P<names>\(?[\w\s,]+\)?)\s*(?P<comment>#.*)?$")
#: The promptflow modules the ``headrace-promptflow`` compatibility package serves (compat/promptflow; a test
#: keeps this list equal to the package's modules). A tool file importing any other is not converted.
SERVED_MODULES = frozenset({
    "promptflow", "promptflow.core", "promptflow.core._flow", "promptflow.client", "promptflow.connections", "promptflow.tracing",
    "promptflow.tools", "promptflow.tools.openai", "promptflow.tools.aoai", "promptflow.tools.common",
    "promptflow._core", "promptflow._core.tool", "promptflow.contracts", "promptflow.contracts.types",
    "promptflow.entities", "promptflow._sdk", "promptflow._sdk.entities",
})
_MODULE = re.compile(r"^\s*(?:from\s+(promptflow[\w.]*)\s+import\b|import\s+(promptflow[\w.]*))")
_PORTABLE_NAMES = {"promptflow.core": {"tool", "log_metric"}, "promptflow": {"tool", "log_metric"},
                   "promptflow._core.tool": {"tool"}}


def is_test_script(path: Path) -> bool:
    """A pytest-named file (``test_*.py``, ``*_test.py``, ``conftest.py``): the flow's own tests, which no node
    loads; an unserved import there is a warning, not a conversion failure."""
    return path.name == "conftest.py" or path.name.startswith("test_") or path.stem.endswith("_test")


def rewrite_imports(path: Path, root: Path, report: Any) -> bool:
    """Rewrite the portable promptflow import lines of one file; report the others. True if it changed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    lines = text.splitlines(keepends=True)
    changed = False
    for i, line in enumerate(lines):
        if not _PF_IMPORT.match(line):
            continue
        match = _TOOL_IMPORT.match(line.rstrip("\r\n"))
        names = [n.strip() for n in match["names"].strip("()").split(",") if n.strip()] if match else []
        if match and names and set(names) <= _PORTABLE_NAMES[match["module"]]:
            comment = f"  {match['comment']}" if match["comment"] else ""
            ending = line[len(line.rstrip("\r\n")):]
            lines[i] = f"{match['indent']}from headrace.flows import {', '.join(names)}{comment}{ending}"
            changed = True
        else:
            found = _MODULE.match(line)
            module = (found[1] or found[2]) if found else "promptflow"
            where = f"{path.relative_to(root)}:{i + 1}: {line.strip()!r}"
            if module in SERVED_MODULES:
                report.warnings.append(f"{where} left as is: it needs headrace's prompt flow compatibility "
                                       "package (pip install 'headrace[promptflow]')")
            elif is_test_script(path):
                report.warnings.append(f"{where} left as is: a test script (no node loads it), and headrace does "
                                       f"not provide {module}")
            else:
                report.unconverted.append(f"{where}: headrace does not provide {module}; rewrite this code "
                                          "without it")
    if changed:
        path.write_text("".join(lines), encoding="utf-8")
    return changed
