"""A ``CommandStep`` on a real Dask cluster: the command runs on a worker, its output reaches S3, metrics come back."""

from __future__ import annotations

from headrace import CommandStep, Datastore, Experiment, Pipeline, PipelineData

LOG = "from headrace import Run\nRun.get_context().log('seen', 7)\nprint('logged')\n"


def test_a_command_step_runs_on_a_dask_worker(dask_ws, write_scripts):
    src = write_scripts({"log.py": LOG})
    out = PipelineData("listing", datastore=Datastore(dask_ws, "lake"))
    listing = CommandStep(["bash", "-c", 'ls > "$0/files.txt"', out], name="list", outputs=[out],
                          source_directory=str(src), compute_target="cluster", allow_reuse=False)
    log = CommandStep("python log.py", name="log", source_directory=str(src), compute_target="cluster",
                      allow_reuse=False)
    run = Experiment(dask_ws, "dask-command").submit(Pipeline(workspace=dask_ws, steps=[listing, log]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", [
        (s.name, s.get_execution_log()) for s in run.get_steps()]
    [log_run] = run.find_step_run("log")
    assert log_run.get_stdout_log() == "logged\n" and log_run.get_metrics()["seen"] == 7
    assert "running on Dask worker" in log_run.get_execution_log()
    [list_run] = run.find_step_run("list")
    folder = write_scripts({}, name="dl")
    list_run.get_output_data("listing").download(str(folder))
    [files] = folder.rglob("files.txt")
    assert "log.py" in files.read_text()


def test_a_data_transfer_step_copies_on_a_dask_worker(dask_ws, tmp_path):
    from headrace import DataReference, DataTransferStep

    lake = Datastore(dask_ws, "lake")
    (tmp_path / "up").mkdir()
    (tmp_path / "up" / "a.txt").write_text("from a worker")
    lake.upload(str(tmp_path / "up"), target_path="raw")
    step = DataTransferStep(name="copy", source_data_reference=DataReference(lake, "raw", "raw"),
                            destination_data_reference=DataReference(lake, "copy", "copy"), compute_target="cluster")
    run = Experiment(dask_ws, "dask-transfer").submit(Pipeline(workspace=dask_ws, steps=[step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Finished", \
        run.get_steps()[0].get_execution_log()
    log = run.get_steps()[0].get_execution_log()
    assert "running on Dask worker" in log and "copied 1 file(s)" in log
    assert [f.path for f in dask_ws.datastores["lake"].list("copy")] == ["copy/a.txt"]
