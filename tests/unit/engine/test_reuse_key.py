"""The reuse key changes exactly when something that determines a step's results changes."""

from __future__ import annotations

import pytest

from headrace.engine.reuse import reuse_key

BASE = dict(
    snapshot_hash="a" * 64, script_name="train.py", arguments=["--n", "10", {"data": "prepared"}],
    parameters={"n": 10}, environment={"SEED": "1"}, input_fingerprints={"prepared": "step:abc:prepared"},
    outputs=["model", "report"], compute_target="local",
)


def test_stable_and_order_insensitive_for_mappings():
    again = dict(BASE, parameters={"n": 10}, outputs=["report", "model"])
    assert reuse_key(**BASE) == reuse_key(**again)
    assert len(reuse_key(**BASE)) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"snapshot_hash": "b" * 64},
        {"script_name": "train2.py"},
        {"arguments": ["--n", "11", {"data": "prepared"}]},
        {"parameters": {"n": 11}},
        {"parameters": {"n": True}},
        {"environment": {"SEED": "2"}},
        {"input_fingerprints": {"prepared": "step:def:prepared"}},
        {"outputs": ["model"]},
        {"compute_target": "dask"},
    ],
)
def test_any_relevant_change_changes_the_key(change):
    assert reuse_key(**{**BASE, **change}) != reuse_key(**BASE)


def test_bool_and_int_parameters_differ():
    assert reuse_key(**{**BASE, "parameters": {"n": 1}}) != reuse_key(**{**BASE, "parameters": {"n": True}})
