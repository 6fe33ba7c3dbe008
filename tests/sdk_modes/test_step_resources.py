"""Per-step resources on the local target, through the embedded and the remote SDK: recorded on the step run
and in its details, a warning in its execution log that they are not enforced here, and no effect on reuse."""

from __future__ import annotations

from headrace import Experiment, Pipeline, PythonScriptStep, RunConfiguration


def test_resources_are_recorded_not_enforced_locally_and_leave_reuse_alone(ws, write_scripts):
    src = write_scripts({"hello.py": "print('hello')\n"})
    first = Experiment(ws, "res").submit(Pipeline(workspace=ws, steps=[
        PythonScriptStep("hello.py", name="hello", source_directory=str(src))]))
    assert first.wait_for_completion(show_output=False) == "Finished"
    rc = RunConfiguration(resources={"GPU": 1, "MEMORY": 4e9})
    step = PythonScriptStep("hello.py", name="hello", source_directory=str(src), runconfig=rc,
                            resources={"MEMORY": 2e9})
    again = Experiment(ws, "res").submit(Pipeline(workspace=ws, steps=[step]))
    assert again.wait_for_completion(show_output=False) == "Finished"
    [step_run] = again.get_steps()
    assert step_run.is_reused  # placement, not content: the reuse key ignores resources
    assert step_run.get_properties()["resources"] == {"GPU": 1, "MEMORY": 2e9}
    assert step_run.get_details()["runDefinition"]["resources"] == {"GPU": 1, "MEMORY": 2e9}
    log = step_run.get_execution_log()
    assert "resources GPU=1, MEMORY=2e+09 recorded; compute target 'local' does not enforce them" in log, log


def test_an_aml_compute_name_says_its_own_name(ws, write_scripts):
    from headrace import AmlCompute, ComputeTarget

    ComputeTarget.create(ws, "cpu-cluster", AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2",
                                                                                   max_nodes=2))
    src = write_scripts({"hello.py": "print('hello')\n"})
    run = Experiment(ws, "res-aml").submit(Pipeline(workspace=ws, steps=[PythonScriptStep(
        "hello.py", source_directory=str(src), compute_target="cpu-cluster", resources={"GPU": 1},
        allow_reuse=False)]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    [step_run] = run.get_steps()
    assert "resources GPU=1 recorded; compute target 'cpu-cluster' does not enforce them" in \
        step_run.get_execution_log()
