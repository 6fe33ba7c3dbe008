"""``Run`` (a batch run to submit, prompt flow's run entity) and ``load_run`` (one from a ``run.yml``).

``pf.runs.create_or_update(run)`` submits it through ``PFClient.run``: the same fields (flow, data, run,
column_mapping, variant, connections, environment_variables, init, tags) under the same names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["Run", "load_run"]

_FIELDS = ("flow", "data", "run", "column_mapping", "variant", "connections", "environment_variables", "init",
           "name", "display_name", "description", "tags")


class Run:
    """A batch run of a flow, not yet submitted (``PFClient().runs.create_or_update(run)`` submits it)."""

    def __init__(self, flow: str | Path | None = None, name: str | None = None, data: str | Path | None = None,
                 variant: str | None = None, run: Any = None, column_mapping: dict[str, Any] | None = None,
                 display_name: str | None = None, description: str | None = None,
                 tags: dict[str, str] | None = None, *, environment_variables: dict[str, str] | None = None,
                 connections: dict[str, dict[str, Any]] | None = None, init: dict[str, Any] | None = None,
                 **unknown: Any):
        if unknown:
            raise TypeError(f"Run() got fields headrace does not run with: {', '.join(sorted(unknown))} "
                            f"(it takes: {', '.join(_FIELDS)})")
        self.flow, self.name, self.data, self.variant, self.run = flow, name, data, variant, run
        self.column_mapping = column_mapping or {}
        self.display_name, self.description, self.tags = display_name, description, tags or {}
        self.environment_variables = environment_variables or {}
        self.connections = connections or {}
        self.init = init

    def _submit_args(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _FIELDS}

    def __repr__(self) -> str:
        return f"Run(flow={str(self.flow)!r}, data={str(self.data)!r})"


def load_run(source: str | Path, params_override: list[dict[str, Any]] | None = None, **_: Any) -> Run:
    """A ``Run`` from a ``run.yml`` (``flow`` and ``data`` relative to the file), with ``params_override``
    (``[{"column_mapping": {...}}, ...]``) applied on top.

    Raises:
        FileNotFoundError: no such file. ValueError: it is not a mapping. TypeError: an unknown field.
    """
    import yaml

    path = Path(source)
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a run file is a mapping of flow, data, column_mapping, ...")
    spec.pop("$schema", None)
    for override in params_override or []:
        spec.update(override)
    for key in ("flow", "data"):
        if isinstance(spec.get(key), str) and not spec[key].startswith("azureml:") and \
                not Path(spec[key]).is_absolute():
            spec[key] = str((path.parent / spec[key]).resolve())
    return Run(**spec)
