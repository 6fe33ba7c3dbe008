"""Small shared type aliases."""

from __future__ import annotations

from typing import Any, TypeAlias

JSONValue: TypeAlias = Any
RunId: TypeAlias = str
StepName: TypeAlias = str
ScalarValue: TypeAlias = int | float | bool | str
