"""Compute targets as Azure ML code uses them: look up, provision when missing, run steps on them."""

from __future__ import annotations

import pytest

from headrace import AmlCompute, ComputeTarget, ComputeTargetException, Experiment, Pipeline, PythonScriptStep
from headrace.errors import DefinitionError

SLEEP = "import time; time.sleep(0.3); print('done')\n"


def _get_or_create(ws, name="cpu-cluster", max_nodes=4):
    try:
        return AmlCompute(ws, name), False
    except ComputeTargetException:
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=max_nodes)
        return ComputeTarget.create(ws, name, config), True


def test_missing_target_raises_then_is_created_and_listed(ws, capsys):
    assert list(ws.compute_targets) == ["local"]
    with pytest.raises(ComputeTargetException, match="'cpu-cluster' not found.*local"):
        ComputeTarget(ws, "cpu-cluster")
    target, created = _get_or_create(ws)
    assert created and isinstance(target, AmlCompute)
    target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
    assert "cpu-cluster" in capsys.readouterr().out
    assert (target.name, target.type, target.vm_size, target.max_nodes) == ("cpu-cluster", "AmlCompute",
                                                                            "STANDARD_D2_V2", 4)
    status = target.get_status()
    assert (status.provisioning_state, status.serialize()["scaleSettings"]["maximum_node_count"]) == ("Succeeded", 4)
    assert sorted(ws.compute_targets) == ["cpu-cluster", "local"]

    again, created = _get_or_create(ws, max_nodes=9)  # the notebook's second run finds it
    assert not created and again.max_nodes == 4
    assert ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(max_nodes=2)).max_nodes == 4
    assert ComputeTarget(ws, "local").type == "local"


def test_bad_provisioning_is_refused_with_the_reason(ws):
    with pytest.raises(ComputeTargetException, match="max_nodes"):
        AmlCompute.provisioning_configuration(min_nodes=3, max_nodes=2)
    with pytest.raises(ComputeTargetException, match="name"):
        ComputeTarget.create(ws, "9 bad name", AmlCompute.provisioning_configuration(max_nodes=1))
    target, _ = _get_or_create(ws, "gone")
    target.delete()
    with pytest.raises(ComputeTargetException):
        ComputeTarget(ws, "gone")
    with pytest.raises(ComputeTargetException, match="built in"):
        ComputeTarget(ws, "local").delete()


def test_unknown_target_is_named_at_validate_and_at_submit(ws, scripts):
    """Regression: a step naming an unconfigured target used to fail at run time with KeyError('cpu-cluster')."""
    step = PythonScriptStep(script_name="train.py", compute_target="cpu-cluster", source_directory=scripts)
    pipeline = Pipeline(workspace=ws, steps=[step])
    [problem] = pipeline.validate()
    assert "compute target 'cpu-cluster' does not exist; configured targets: local" in problem
    with pytest.raises(DefinitionError, match="'cpu-cluster' does not exist; configured targets: local"):
        Experiment(ws, "exp").submit(pipeline)


def test_steps_run_on_a_provisioned_target_at_most_max_nodes_at_once(ws, scripts):
    (scripts / "sleep.py").write_text(SLEEP)
    target, _ = _get_or_create(ws, "one-node", max_nodes=1)
    steps = [PythonScriptStep(script_name="sleep.py", name=f"s{i}", compute_target=target,
                              source_directory=scripts, allow_reuse=False) for i in range(2)]
    run = Experiment(ws, "exp").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False) == "Finished"
    first, second = sorted((s._refresh() for s in run.get_steps()), key=lambda r: r.started_at)
    assert second.started_at >= first.ended_at  # one node: the two independent steps did not overlap


def test_a_published_pipeline_whose_target_was_deleted_fails_naming_it(ws, scripts):
    target, _ = _get_or_create(ws, "temp-cluster")
    step = PythonScriptStep(script_name="train.py", compute_target=target, source_directory=scripts)
    published = Pipeline(workspace=ws, steps=[step]).publish(name="uses-temp")
    target.delete()
    run = published.submit(ws, experiment_name="exp")
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    error = run.get_steps()[0].error
    assert "cannot run on compute target 'temp-cluster'" in error and "configured targets: local" in error
