"""A DataPath input with nothing there yet reaches the script as a path that does not exist (as under
Azure ML's mount), and the reuse key records it as missing: once data appears, the step runs again."""

from __future__ import annotations

from headrace import (
    DataPath,
    DataPathComputeBinding,
    Experiment,
    Pipeline,
    PipelineParameter,
    PythonScriptStep,
)

PEEK = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--data"); a = p.parse_args()
print("exists:", os.path.exists(a.data), "ends:", a.data.replace(os.sep, "/").endswith("later/data.csv"))
'''


def test_missing_datapath_reaches_the_script_and_the_reuse_key(ws, write_scripts, tmp_path):
    scripts = write_scripts({"peek.py": PEEK}, name="peek")
    ds = ws.get_default_datastore()
    param = PipelineParameter(name="input_datapath", default_value=DataPath(datastore=ds, path_on_datastore="later/data.csv"))
    data = (param, DataPathComputeBinding(mode="mount"))
    step = PythonScriptStep(name="peek", script_name="peek.py", source_directory=scripts, arguments=["--data", data],
                            inputs=[data], allow_reuse=True)
    pipeline = Pipeline(workspace=ws, steps=[step])
    exp = Experiment(ws, "missing-data")

    first = exp.submit(pipeline)
    assert first.wait_for_completion(show_output=False) == "Finished"
    peek = first.find_step_run("peek")[0]
    assert "exists: False ends: True" in peek.get_stdout_log()
    assert "nothing at 'later/data.csv'" in peek.get_execution_log()
    assert peek._record.properties["input_fingerprints"]["input_datapath"].endswith(":missing")

    again = exp.submit(pipeline)
    assert again.wait_for_completion(show_output=False) == "Finished"
    assert again.find_step_run("peek")[0].is_reused  # still nothing there: same inputs

    (tmp_path / "data.csv").write_text("a\n1\n")
    ds.upload_files([str(tmp_path / "data.csv")], target_path="later", overwrite=True)
    third = exp.submit(pipeline)
    assert third.wait_for_completion(show_output=False) == "Finished"
    step3 = third.find_step_run("peek")[0]
    assert not step3.is_reused and "exists: True" in step3.get_stdout_log()
