"""Steps built the Azure ML way run the same on both backends: default names, run_after, runconfig."""

from __future__ import annotations

import pytest

from headrace import CondaDependencies, Experiment, Pipeline, PythonScriptStep, RunConfiguration
from headrace.core.runconfig import IgnoredSettingWarning

ENV = "import os; print('mode', os.environ.get('MODE'))\n"


def test_run_after_orders_steps_without_data(ws, scripts):
    (scripts / "env.py").write_text(ENV)
    first = PythonScriptStep(script_name="env.py", source_directory=scripts, allow_reuse=False)
    second = PythonScriptStep(script_name="train.py", name="second", source_directory=scripts, allow_reuse=False)
    rc = RunConfiguration()
    rc.environment.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
    rc.environment.environment_variables = {"MODE": "fast"}
    with pytest.warns(IgnoredSettingWarning, match="conda packages scikit-learn"):
        third = PythonScriptStep(script_name="env.py", name="third", source_directory=scripts, runconfig=rc,
                                 allow_reuse=False)
    second.run_after(first)
    third.run_after(second)
    pipeline = Pipeline(workspace=ws, steps=[third])
    assert pipeline.validate() == []
    run = Experiment(ws, "Hello_World2").submit(pipeline)
    run.wait_for_completion(show_output=False, raise_on_error=False)
    records = [s._refresh() for s in run.get_steps()]
    assert [r.name for r in records] == ["env.py", "second", "third"]
    assert records[1].status.value == "Failed"  # train.py needs --data: run_after still ordered it
    assert records[1].started_at >= records[0].ended_at
    assert records[2].status.value == "Canceled"  # it waits for a failed step
    assert run.find_step_run("env.py")[0].get_stdout_log() == "mode None\n"


def test_runconfig_environment_variables_reach_the_script(ws, scripts):
    (scripts / "env.py").write_text(ENV)
    rc = RunConfiguration()
    rc.environment_variables = {"MODE": "fast"}
    step = PythonScriptStep(script_name="env.py", source_directory=scripts, runconfig=rc)
    run = Experiment(ws, "exp").submit(Pipeline(workspace=ws, steps=[step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("env.py")[0].get_stdout_log() == "mode fast\n"
