"""The rules `Pipeline.validate()` checks. Every problem is collected; each message names the step,
parameter or data involved and says how to fix it."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import Any

from headrace.core._refs import DataRef, data_ref, encode_argument, parameter_uses
from headrace.core.graph import find_cycles, producers_by_data, step_dependencies
from headrace.core.params import DataPath, DataPathComputeBinding, PipelineData, PipelineParameter
from headrace.core.resources import resource_problems

_ARGUMENT_KINDS = (
    "str, int, float, bool, PipelineParameter, PipelineData, DataPath or a "
    "(PipelineParameter, DataPathComputeBinding) tuple"
)
_INPUT_KINDS = (
    "PipelineData, DataPath, a PipelineParameter with a DataPath default, or a "
    "(PipelineParameter, DataPathComputeBinding) tuple"
)


def collect_problems(
    steps: Sequence[Any],
    *,
    resolve_closure: bool,
    fallback_source_directory: str,
) -> tuple[list[str], bool]:
    """Check a pipeline's (closure-resolved) steps.

    Args:
        steps: the pipeline's steps, after closure resolution.
        resolve_closure: whether the pipeline pulls in upstream steps (changes the missing-producer hint).
        fallback_source_directory: folder used by steps built without a `source_directory`.

    Returns:
        Every problem message, and whether any of them is a dependency cycle.
    """
    problems: list[str] = []
    if not steps:
        problems.append("the pipeline has no steps; pass at least one step in steps=[...]")
    for name, count in Counter(s.name for s in steps).items():
        if count > 1:
            problems.append(f"{count} steps are named {name!r}; give every step a unique name")
    for step in steps:
        problems.extend(_step_problems(step, fallback_source_directory))
    problems.extend(_producer_problems(steps, resolve_closure))
    problems.extend(_parameter_problems(steps))
    problems.extend(_data_problems(steps))
    problems.extend(_run_after_problems(steps, resolve_closure))
    cycles = find_cycles(steps, step_dependencies(steps))
    for cycle in cycles:
        chain = " -> ".join(repr(s.name) for s in cycle)
        problems.append(
            f"steps {chain} form a cycle (each step waits for the previous one: it reads its output or "
            "runs after it); remove one of these inputs or run_after() calls, or write to a new PipelineData"
        )
    return problems, bool(cycles)


def compute_problems(steps: Sequence[Any], known: Sequence[str]) -> list[str]:
    """One problem per step whose compute target is not among `known` (the workspace's targets)."""
    return [
        f"step {s.name!r}: compute target {s.compute_target!r} does not exist; configured targets: "
        f"{', '.join(sorted(known))}. Create it (ComputeTarget.create(ws, name, "
        "AmlCompute.provisioning_configuration(max_nodes=N))) or use one of these"
        for s in steps
        if isinstance(s.compute_target, str) and s.compute_target and s.compute_target not in known
    ]


def _run_after_problems(steps: Sequence[Any], resolve_closure: bool) -> list[str]:
    members = set(steps)
    problems = []
    for step in steps:
        for other in getattr(step, "_run_after", ()):
            if not (hasattr(other, "outputs") and hasattr(other, "_order")):
                problems.append(f"step {step.name!r}: run_after() was given {_type_name(other)}; pass a step")
            elif other not in members and not resolve_closure:
                problems.append(
                    f"step {step.name!r} runs after step {other.name!r}, which is not in the pipeline; add it to "
                    "steps= or use resolve_closure=True"
                )
    return problems


def _type_name(value: Any) -> str:
    if isinstance(value, PipelineParameter):
        return f"PipelineParameter {value.name!r}, whose default is of type {value.type}"
    if isinstance(value, tuple):
        return f"a tuple ({', '.join(type(v).__name__ for v in value)})"
    if isinstance(value, (DataPath, DataPathComputeBinding)):
        return f"a {type(value).__name__}"
    return f"a value of type {type(value).__name__}"


def _command_problems(where: str, step: Any, source: str) -> list[str]:
    """A command step's ``python script.py`` must find its script in the folder it runs in."""
    from headrace.core.command_step import PYTHON_NAMES

    script = step.arguments[0] if step.arguments else None
    if step.executable in PYTHON_NAMES and isinstance(script, str) and script.endswith(".py") and not (
            os.path.isabs(script) or os.path.isfile(os.path.join(source, script))):
        return [f"{where}: the command runs {script!r}, which is not in {source!r}; create it there or fix "
                "the command/source_directory"]
    return []


def _step_problems(step: Any, fallback_source_directory: str) -> list[str]:
    where = f"step {step.name!r}"
    problems = []
    source = step.source_directory or fallback_source_directory
    if getattr(step, "snapshot", None) is not None:
        pass  # a module version's script was frozen when it was published; its folder may have changed since
    elif not os.path.isdir(source):
        problems.append(
            f"{where}: source_directory {source!r} does not exist; create it or pass the folder that holds "
            f"{step.script_name or step.executable!r} as source_directory"
        )
    elif step.kind == "command":
        problems.extend(_command_problems(where, step, source))
    elif step.script_name is None:
        pass  # a data transfer runs no script
    elif os.path.isabs(step.script_name):
        problems.append(
            f"{where}: script_name {step.script_name!r} is an absolute path; give it relative to source_directory"
        )
    elif not os.path.isfile(os.path.join(source, step.script_name)):
        problems.append(
            f"{where}: script {step.script_name!r} not found in {source!r}; create it there or fix "
            "script_name/source_directory"
        )

    io_identities = {r.identity for r in map(data_ref, [*step.inputs, *step.outputs]) if r is not None}
    for index, arg in enumerate(step.arguments):
        encoded = encode_argument(arg)
        if encoded is None:
            problems.append(
                f"{where}: arguments[{index}] is {_type_name(arg)}; an argument must be {_ARGUMENT_KINDS}"
            )
        elif "data" in encoded and data_ref(arg).identity not in io_identities:  # type: ignore[union-attr]
            problems.append(
                f"{where}: arguments[{index}] uses data {encoded['data']!r}, which is in neither its inputs nor "
                "its outputs; add it to inputs= (if the step reads it) or outputs= (if it writes it)"
            )
    for index, value in enumerate(step.inputs):
        if data_ref(value) is None:
            problems.append(
                f"{where}: inputs[{index}] is {_type_name(value)}; an input must be {_INPUT_KINDS}"
            )
    for index, value in enumerate(step.outputs):
        if not isinstance(value, PipelineData):
            problems.append(
                f"{where}: outputs[{index}] is {_type_name(value)}; outputs must be PipelineData, "
                "e.g. PipelineData('result')"
            )

    if not isinstance(step.allow_reuse, bool):
        problems.append(f"{where}: allow_reuse must be True or False, not {step.allow_reuse!r}")
    if not isinstance(step.compute_target, str) or not step.compute_target:
        problems.append(
            f"{where}: compute_target {step.compute_target!r} is invalid; pass a compute target name"
        )
    bad_env = [
        k for k, v in step.environment_variables.items() if not (isinstance(k, str) and isinstance(v, str))
    ]
    if bad_env:
        problems.append(
            f"{where}: environment variables {bad_env!r} are not str -> str; convert names and values to str"
        )
    timeout = step.timeout_seconds
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0):
        problems.append(f"{where}: timeout_seconds {timeout!r} is invalid; pass a positive int or None")
    own = getattr(getattr(step, "runconfig", None), "resources", None)
    if not isinstance(own, dict):  # a dict's values are checked in the step's (merged) resources
        problems.extend(resource_problems(f"{where}: runconfig", own))
    problems.extend(resource_problems(where, getattr(step, "resources", None)))
    return problems


def _producer_problems(steps: Sequence[Any], resolve_closure: bool) -> list[str]:
    problems = []
    producers = producers_by_data(steps)
    members = set(steps)
    reported: set[int] = set()
    for step in steps:
        for data in step.inputs:
            if not isinstance(data, PipelineData) or producers.get(id(data)):
                continue
            outside = [p for p in data._producers if p not in members]
            if outside and not resolve_closure:
                names = ", ".join(repr(p.name) for p in outside)
                problems.append(
                    f"step {step.name!r}: input PipelineData {data.name!r} is produced by step {names}, which is "
                    "not in the pipeline; add that step to steps= or use resolve_closure=True"
                )
            else:
                problems.append(
                    f"step {step.name!r}: input PipelineData {data.name!r} is not produced by any step; add it to "
                    "the outputs= of the step that writes it"
                )
        for data in step.outputs:
            owners = producers.get(id(data), []) if isinstance(data, PipelineData) else []
            if len(owners) > 1 and id(data) not in reported:
                reported.add(id(data))
                names = " and ".join(repr(p.name) for p in owners)
                problems.append(
                    f"PipelineData {data.name!r} is an output of steps {names}; a PipelineData must have exactly "
                    "one producer, so create a separate PipelineData for each step"
                )
    return problems


def _parameter_problems(steps: Sequence[Any]) -> list[str]:
    seen: dict[str, dict[tuple[Any, ...], tuple[str, str]]] = {}
    for step in steps:
        for param in parameter_uses(step):
            default = param.default_value
            value = default.to_json() if param.type == "datapath" else default
            key = (param.type, tuple(sorted(value.items())) if isinstance(value, dict) else value)
            seen.setdefault(param.name, {}).setdefault(key, (repr(value), step.name))
    problems = []
    for name, defaults in seen.items():
        if len(defaults) > 1:
            listed = ", ".join(f"{shown} (step {where!r})" for shown, where in defaults.values())
            problems.append(
                f"PipelineParameter {name!r} has different defaults: {listed}; use one PipelineParameter "
                "object, or the same default everywhere"
            )
    return problems


def _data_problems(steps: Sequence[Any]) -> list[str]:
    """Two different data handles under one name, and one data path bound with two modes."""
    by_name: dict[str, tuple[DataRef, str]] = {}
    modes: dict[tuple[Any, ...], dict[str, str]] = {}
    problems = []
    reported: set[tuple[str, tuple[Any, ...]]] = set()
    for step in steps:
        for value in [*step.inputs, *step.outputs]:
            ref = data_ref(value)
            if ref is None:
                continue
            first, first_step = by_name.setdefault(ref.name, (ref, step.name))
            if first.identity != ref.identity and (ref.name, ref.identity) not in reported:
                reported.add((ref.name, ref.identity))
                problems.append(
                    f"data name {ref.name!r} is used by two different data objects: {first.describe()} in step "
                    f"{first_step!r} and {ref.describe()} in step {step.name!r}; give each a unique name"
                )
        for value in step.inputs:
            ref = data_ref(value)
            if ref is not None and ref.mode is not None:
                modes.setdefault(ref.identity, {}).setdefault(ref.mode, step.name)
                if len(modes[ref.identity]) == 2 and (ref.name, ("mode",)) not in reported:
                    reported.add((ref.name, ("mode",)))
                    listed = ", ".join(f"{m!r} in step {s!r}" for m, s in modes[ref.identity].items())
                    problems.append(
                        f"{ref.describe()} is bound with different modes ({listed}); use the same "
                        "DataPathComputeBinding mode in every step"
                    )
    return problems
