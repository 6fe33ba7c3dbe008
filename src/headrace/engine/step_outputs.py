"""A finished step's outputs: uploaded whole to their datastores (or not at all), or counted where written in place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from headrace import clock
from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.errors import HeadraceError
from headrace.storage.records import StepStatus


def upload(resolve_datastore: Callable[[str], Datastore], task: c.StepTask, out_dirs: dict[str, Path],
           outcome: c.StepOutcome, log: list[str]) -> None:
    """Upload each output folder; the first that fails fails the step, and what it left is removed."""
    for name, folder in out_dirs.items():
        binding = task.outputs[name]
        ds = resolve_datastore(binding.datastore)
        t0 = clock.monotonic()
        try:
            size = ds.upload(str(folder), binding.path, overwrite=True)
        except HeadraceError as exc:
            outcome.status = StepStatus.FAILED
            outcome.error = f"uploading output {name!r} failed: {exc}"
            log.append(outcome.error)
            log.append(_remove_partial(ds, binding.path))
            return
        outcome.output_bytes[name] = size
        log.append(
            f"output {name}: uploaded {size} bytes to {binding.datastore}/{binding.path} "
            f"in {clock.monotonic() - t0:.3f}s"
        )


def count_in_place(in_place: dict[str, Path], outcome: c.StepOutcome, log: list[str]) -> None:
    """Outputs the step wrote straight into their datastore folder: their size, logged."""
    for name, folder in in_place.items():
        size = folder_bytes(folder)
        outcome.output_bytes[name] = size
        log.append(f"output {name}: {size} bytes written in place at {folder}")


def folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def _remove_partial(ds: Datastore, path: str) -> str:
    """Delete what a failed upload left, so an output is there whole or not at all."""
    try:
        ds.delete(path)
    except HeadraceError as exc:
        return f"the partial upload at {ds.name}/{path} could not be removed ({exc}); delete it by hand"
    return f"the partial upload at {ds.name}/{path} was removed (an output is kept whole or not at all)"
