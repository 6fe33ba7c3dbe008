"""``ModuleStep``: run one version of a module (Azure ML v1's ``ModuleStep``).

A module version is a script frozen at publish time (its source snapshot) with named ports and default
parameters. The step compiles into the graph step a ``PythonScriptStep`` makes, with the version's
snapshot already set (``freeze_pipeline`` does not snapshot the folder again) and its ports wired to the
step's data through ``inputs_map`` / ``outputs_map``.

The definition layer never imports the SDK: a module version is anything with ``_headrace_module_version()``
(a dict: ``module``, ``module_id``, ``version``, ``status``, ``script_name``, ``snapshot``,
``source_directory``, ``interface``) and a module anything with ``resolve(version)`` returning one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from headrace.core.module_ports import ACTIVE
from headrace.core.step import PythonScriptStep
from headrace.errors import DefinitionError

__all__ = ["ModuleStep", "name_module_steps"]


class ModuleStep(PythonScriptStep):
    """Run a version of a ``Module`` as a pipeline step.

    Give exactly one of ``module`` (its version ``version``, else its default, else its highest numbered,
    else its newest Active version) and ``module_version``.

    Attributes (besides ``PythonScriptStep``'s):
        module_version: the version the step runs.
        snapshot: the hash of the version's source snapshot.
        inputs_map / outputs_map: port name -> the data wired to it.

    Example:
        >>> step = ModuleStep(module=module, version="2", inputs_map={"in1": a}, outputs_map={"out_sum": s},
        ...                   arguments=["--file_num1", a, "--output_sum", s])
    """

    def __init__(self, module: Any = None, version: str | None = None, module_version: Any = None,
                 inputs_map: Mapping[str, Any] | None = None, outputs_map: Mapping[str, Any] | None = None,
                 compute_target: Any = None, runconfig: Any = None, runconfig_pipeline_params: Any = None,
                 arguments: list[Any] | None = None, params: Mapping[str, Any] | None = None,
                 name: str | None = None, _workflow_provider: Any = None):
        """Create the step (Azure ML's arguments, in its order).

        Raises:
            DefinitionError: not exactly one of ``module`` and ``module_version``; no version can be chosen or
                ``version`` is not the module's; the version is Deprecated or Disabled; a map names a port the
                version does not declare, or a required input port is not wired (the step and port named).
        """
        if (module is None) == (module_version is None):
            raise DefinitionError(["a ModuleStep needs exactly one of module and module_version, "
                                   f"{'got neither' if module is None else 'got both'}"])
        if module_version is None:
            module_version = module.resolve(version)
            if module_version is None:
                raise DefinitionError([f"module {getattr(module, 'name', module)!r}: no version can be chosen"])
        spec = _spec(module_version)
        label = name if name is not None else spec["module"]
        ins, outs = dict(inputs_map or {}), dict(outputs_map or {})
        _check(label, spec, ins, outs)
        super().__init__(
            script_name=spec["script_name"], name=label, arguments=list(arguments or []),
            compute_target=compute_target, runconfig=runconfig, runconfig_pipeline_params=runconfig_pipeline_params,
            inputs=list(ins.values()), outputs=list(outs.values()),
            params={**spec["interface"].get("params", {}), **dict(params or {})})
        self.source_directory = spec["source_directory"]  # where it was published from: informational only
        self.snapshot = spec["snapshot"]
        self.module_version = module_version
        self.module_ref = {"name": spec["module"], "id": spec["module_id"], "version": spec["version"]}
        self.inputs_map, self.outputs_map = ins, outs
        self._auto_named = name is None

    def __repr__(self) -> str:
        return f"ModuleStep(name={self.name!r}, module={self.module_ref['name']!r}, version={self.module_ref['version']!r})"


def _spec(module_version: Any) -> dict[str, Any]:
    describe = getattr(module_version, "_headrace_module_version", None)
    if not callable(describe):
        raise DefinitionError([f"module_version must be a ModuleVersion, not {type(module_version).__name__}"])
    return describe()


def _check(label: str, spec: Mapping[str, Any], ins: Mapping[str, Any], outs: Mapping[str, Any]) -> None:
    where = f"step {label!r} (module {spec['module']!r} version {spec['version']!r})"
    problems = []
    if spec["status"] != ACTIVE:
        problems.append(f"{where}: the version is {spec['status']}; enable it or use another version")
    declared_in = {p["name"]: p for p in spec["interface"].get("inputs", [])}
    declared_out = [p["name"] for p in spec["interface"].get("outputs", [])]
    for kind, given, declared in (("input", ins, list(declared_in)), ("output", outs, declared_out)):
        problems += [f"{where}: {kind}s_map names port {port!r}, which the version does not declare "
                     f"(its {kind} ports: {declared or 'none'})" for port in given if port not in declared]
        problems += [f"{where}: {kind}s_map[{port!r}] must be data (e.g. a PipelineData), not None"
                     for port, value in given.items() if value is None]
    problems += [f"{where}: required input port {port!r} is not wired; add it to inputs_map"
                 for port, p in declared_in.items() if port not in ins and not p.get("is_optional")]
    if problems:
        raise DefinitionError(problems)


def name_module_steps(steps: Sequence[Any]) -> None:
    """Give each ``ModuleStep`` named after its module a name no other step of the pipeline has (in place).

    Azure ML names such a step after its module, and three steps of one module are common; headrace step names
    are unique in a pipeline, so the second becomes ``"<module>_2"``, and so on (in the order given).
    """
    taken = {s.name for s in steps if not getattr(s, "_auto_named", False)}
    for step in steps:
        if not getattr(step, "_auto_named", False):
            continue
        base = step.module_ref["name"]
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        step.name = name
        taken.add(name)
