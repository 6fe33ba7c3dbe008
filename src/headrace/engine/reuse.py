"""Step reuse: the key that says "this step would compute exactly the same thing again".

The key covers the step's code (snapshot hash), script, resolved arguments and parameter
values, environment variables, the hash of its environment (packages, Python version), and a fingerprint of every input: the content (small files)
or size + version (large ones) of data read from a datastore, and the producing step run of
intermediate data. Unlike Azure ML v1, changed data behind an unchanged path changes the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.datastores.base import Datastore
    from headrace.engine.compute import StepTask
    from headrace.storage.base import MetadataStore
    from headrace.storage.records import StepRunRecord

KEY_VERSION = 1


def reuse_key(
    *,
    snapshot_hash: str,
    script_name: str,
    arguments: list[Any],
    parameters: dict[str, Any],
    environment: dict[str, str],
    input_fingerprints: dict[str, str],
    outputs: list[str],
    compute_target: str,
    environment_hash: str | None = None,
    command: list[Any] | None = None,
    transfer: dict[str, Any] | None = None,
) -> str:
    """A stable sha256 over everything that determines a step's results.

    ``environment_hash`` (the step's environment, when it has one) joins the key only when given, so the
    keys of steps without an environment stay what they were; ``command`` (a command step's argv) likewise.
    """
    doc = {
        "v": KEY_VERSION,
        "snapshot": snapshot_hash,
        "script": script_name,
        "arguments": arguments,
        "parameters": parameters,
        "environment": environment,
        "inputs": input_fingerprints,
        "outputs": sorted(outputs),
        "compute": compute_target,
    }
    if environment_hash is not None:
        doc["environment_hash"] = environment_hash
    if command is not None:  # a command step's argv; script steps' keys stay what they were
        doc["command"] = command
    if transfer is not None:  # a data transfer's reference types
        doc["transfer"] = transfer
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def step_reuse_key(task: StepTask, step: dict[str, Any], parameters: dict[str, Any],
                   input_fingerprints: dict[str, str]) -> str:
    """:func:`reuse_key` of ``task``, the frozen graph's ``step``, given the run's parameter values."""
    return reuse_key(
        snapshot_hash=task.snapshot_hash, script_name=task.script_name, arguments=task.arguments,
        parameters={p: parameters.get(p) for p in step["parameters"]},
        environment=step.get("environment_variables") or {}, input_fingerprints=input_fingerprints,
        outputs=step["outputs"], compute_target=step["compute_target"],
        environment_hash=(step.get("environment") or {}).get("hash"), command=task.command, transfer=task.transfer,
    )


def reusable_step_run(store: MetadataStore, resolve_datastore: Callable[[str], Datastore], key: str,
                      log: list[str]) -> StepRunRecord | None:
    """The earlier finished step run with ``key`` whose outputs all still exist, or None (``log`` says why)."""
    prior = store.find_reusable_step_run(key)
    if prior is None:
        log.append("reuse: no earlier finished step run with this key; running")
        return None
    missing = [n for n, o in prior.outputs.items() if not _output_exists(resolve_datastore, o)]
    if missing:
        log.append(f"reuse: step run {prior.id} matches but its outputs {missing} are gone; running")
        return None
    return prior


def _output_exists(resolve_datastore: Callable[[str], Datastore], out: dict[str, str]) -> bool:
    try:
        return resolve_datastore(out["datastore"]).exists(out["path"])
    except HeadraceError:
        return False
