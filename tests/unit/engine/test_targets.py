"""TargetRegistry: names resolved when a step needs them, cached briefly, errors that name the target."""

from __future__ import annotations

import pytest

from headrace.engine.targets import TargetRegistry
from headrace.errors import ComputeError, NotFoundError


class Target:
    name = "local"

    def run(self, task, log, upcoming=()):  # pragma: no cover - never called here
        raise AssertionError

    def cancel(self, step_run_id):  # pragma: no cover
        pass


def test_names_resolve_share_targets_and_report_unknown_ones():
    shared = Target()
    calls = []

    def resolve(name):
        calls.append(name)
        if name == "gone":
            raise NotFoundError("compute target", name, "configured targets: local, cpu")
        return shared, (4 if name == "cpu" else None)

    registry = TargetRegistry(resolve, [shared, shared])
    assert registry["cpu"] is shared and registry["local"] is shared
    assert (registry.max_parallel("cpu"), registry.max_parallel("local")) == (4, None)
    assert calls == ["cpu", "local"]  # cached: one resolution per name
    assert registry.values() == [shared]
    with pytest.raises(ComputeError, match="cannot run on compute target 'gone'.*configured targets: local, cpu"):
        registry["gone"]
    assert registry.max_parallel("gone") is None
