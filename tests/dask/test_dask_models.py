"""Model.get_model_path inside a step on a Dask worker: the worker forwards the request, the agent resolves it
from its store, the worker copies the files from the artifact area (S3 here) for the script."""

from __future__ import annotations

from headrace import Experiment, Model, Pipeline, PythonScriptStep

SCORE = r'''
from headrace import Model
from headrace.errors import NotFoundError
path = Model.get_model_path("scorer")
print("model says", open(path).read(), "v1 says", open(Model.get_model_path("scorer", version=1)).read())
try:
    Model.get_model_path("nope")
except NotFoundError as exc:
    print("missing:", exc)
'''


def test_a_step_on_a_dask_worker_gets_registered_models(dask_ws, write_scripts, tmp_path):
    (tmp_path / "m.txt").write_text("v1")
    Model.register(dask_ws, str(tmp_path / "m.txt"), "scorer")
    (tmp_path / "m.txt").write_text("v2")
    Model.register(dask_ws, str(tmp_path / "m.txt"), "scorer")
    step = PythonScriptStep(name="score", script_name="score.py", compute_target="cluster", allow_reuse=False,
                            source_directory=str(write_scripts({"score.py": SCORE})))
    run = Experiment(dask_ws, "dask-models").submit(Pipeline(dask_ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.get_execution_log(), s.get_stderr_log()) for s in run.get_steps()]
    out = run.find_step_run("score")[0].get_stdout_log()
    assert "model says v2 v1 says v1" in out and "missing:" in out and "registered models: scorer" in out
