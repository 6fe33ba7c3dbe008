"""Define and run: the same calls, the same answers, on an embedded and on a remote workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import DataPath, Datastore, Experiment, PipelineRun
from headrace.errors import (
    DatastoreError,
    NotFoundError,
    ParameterError,
    StepFailedError,
    UnknownParameterError,
)

from .scripts import CSV, contract_pipeline, one_step, upload_csv


def test_upload_submit_stream_and_inspect(ws, scripts, tmp_path, capsys):
    assert upload_csv(ws, tmp_path) == "raw/data.csv"
    assert [f.path for f in ws.get_default_datastore().list("raw")] == ["raw/data.csv"]
    pipeline = contract_pipeline(ws, scripts)
    assert pipeline.validate() == []

    run = Experiment(ws, "MyExperiment").submit(pipeline, pipeline_parameters={"pipeline_arg": 20})
    assert isinstance(run, PipelineRun)
    assert run.get_status() in ("Queued", "Running", "Finished")
    assert run.parameters["pipeline_arg"] == 20
    assert run.parameters["input_data"] == {"datastore": "workspaceblobstore", "path": "raw/data.csv"}

    assert run.wait_for_completion(show_output=True) == "Finished"
    streamed = capsys.readouterr().out
    assert "[prep] prep read 2 rows" in streamed
    assert "[prep stderr] prep: a warning on stderr" in streamed
    assert "[train] A,B" in streamed
    assert f"PipelineRun {run.id} Finished" in streamed

    steps = run.get_steps()
    assert [s.name for s in steps] == ["prep", "train"]
    assert [(s.status, s.exit_code, s.is_reused, s.reused_run_id) for s in steps] == [("Finished", 0, False, None)] * 2
    prep = run.find_step_run("prep")[0]
    assert run.find_step_run("nope") == []
    assert prep.get_stdout_log() == "prep read 2 rows\nn=20\n"
    assert prep.get_stderr_log() == "prep: a warning on stderr\n"
    execution = prep.get_execution_log()
    assert "exited with code 0" in execution and "--n 20" in execution

    assert prep.get_metrics() == {"rows": 2, "loss": [0.5, 0.25]}
    assert run.find_step_run("train")[0].get_metrics() == {}
    assert run.get_metrics() == {"pipeline_metric": 42}
    assert run.get_metrics(recursive=True)["prep"]["rows"] == 2

    downloaded = Path(prep.get_output_data("prepared").download(tmp_path / "dl"))
    assert (downloaded / "prepared.csv").read_text() == CSV.upper()
    with pytest.raises(NotFoundError, match="outputs of step 'prep': prepared"):
        prep.get_output_data("missing")
    assert "train sees ['prepared.csv']" in run.find_step_run("train")[0].get_stdout_log()

    again = PipelineRun.get(ws, run.id)
    assert again.get_status() == "Finished" and again.parameters["pipeline_arg"] == 20
    assert again.experiment.name == "MyExperiment"
    assert [e.name for e in Experiment.list(ws)] == ["MyExperiment"]
    assert [r.id for r in Experiment(ws, "MyExperiment").get_runs()] == [run.id]
    assert set(ws.experiments) == {"MyExperiment"}


def test_resubmit_reuses_unchanged_steps(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    pipeline = contract_pipeline(ws, scripts)
    first = Experiment(ws, "Reuse").submit(pipeline)
    assert first.wait_for_completion(show_output=False) == "Finished"
    second = Experiment(ws, "Reuse").submit(pipeline)
    assert second.wait_for_completion(show_output=False) == "Finished"
    by_name = {s.name: s for s in first.get_steps()}
    for step in second.get_steps():
        assert step.is_reused
        assert step.reused_run_id == by_name[step.name].id
    reused_prep = second.find_step_run("prep")[0]
    assert reused_prep.get_stdout_log() == "prep read 2 rows\nn=10\n"  # the reused run's output
    assert reused_prep.get_metrics()["rows"] == 2

    changed = Experiment(ws, "Reuse").submit(pipeline, pipeline_parameters={"pipeline_arg": 11})
    assert changed.wait_for_completion(show_output=False) == "Finished"
    assert not changed.find_step_run("prep")[0].is_reused

    upload_csv(ws, tmp_path, text="a,b\n5,6\n")  # changed input data invalidates reuse
    fresh = Experiment(ws, "Reuse").submit(pipeline)
    assert fresh.wait_for_completion(show_output=False) == "Finished"
    assert fresh.find_step_run("prep")[0].get_stdout_log() == "prep read 1 rows\nn=10\n"

    forced = Experiment(ws, "Reuse").submit(pipeline, regenerate_outputs=True)
    assert forced.wait_for_completion(show_output=False) == "Finished"
    assert not any(s.is_reused for s in forced.get_steps())


def test_a_failing_step_raises_step_failed_error(ws, scripts):
    run = Experiment(ws, "Failing").submit(one_step(ws, scripts, "fail.py"))
    with pytest.raises(StepFailedError) as info:
        run.wait_for_completion(show_output=False)
    err = info.value
    assert (err.step, err.exit_code, err.run_id) == ("fail", 3, run.id)
    assert "boom: the input is bad" in err.stderr_tail
    assert "step 'fail'" in str(err) and "exit code 3" in str(err) and "boom: the input is bad" in str(err)
    assert run.get_status() == "Failed"
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    step = run.find_step_run("fail")[0]
    assert (step.status, step.exit_code) == ("Failed", 3)
    assert step.get_stdout_log() == "about to fail\n"


def test_unknown_and_mistyped_parameters(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    pipeline = contract_pipeline(ws, scripts)
    with pytest.raises(UnknownParameterError, match="valid parameters: input_data, pipeline_arg") as info:
        Experiment(ws, "Params").submit(pipeline, pipeline_parameters={"nope": 1})
    assert info.value.parameter == "nope"
    with pytest.raises(ParameterError, match="pipeline_arg") as typed:
        Experiment(ws, "Params").submit(pipeline, pipeline_parameters={"pipeline_arg": "ten"})
    assert typed.value.parameter == "pipeline_arg"
    with pytest.raises(ParameterError, match="registered datastores: workspaceblobstore") as unknown_ds:
        Experiment(ws, "Params").submit(pipeline, pipeline_parameters={"input_data": DataPath("nope", "x.csv")})
    assert unknown_ds.value.parameter == "input_data"
    with pytest.raises(ParameterError, match="input_data"):
        Experiment(ws, "Params").submit(pipeline, pipeline_parameters={"input_data": DataPath(
            "workspaceblobstore", "../../etc/passwd")})
    assert [list(e.get_runs()) for e in Experiment.list(ws)] in ([], [[]])  # nothing was queued


def test_string_values_and_datapath_overrides(ws, scripts, tmp_path):
    upload_csv(ws, tmp_path)
    upload_csv(ws, tmp_path, name="other.csv", text="a,b\n1,1\n2,2\n3,3\n")
    pipeline = contract_pipeline(ws, scripts)
    ds = ws.get_default_datastore()
    run = Experiment(ws, "Overrides").submit(
        pipeline, pipeline_parameters={"pipeline_arg": "7", "input_data": ds.path("raw/other.csv")},
        tags={"team": "x"}, description="override")
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert run.find_step_run("prep")[0].get_stdout_log() == "prep read 3 rows\nn=7\n"
    assert run.parameters == {"pipeline_arg": 7, "input_data": {"datastore": "workspaceblobstore",
                                                                  "path": "raw/other.csv"}}
    assert run.tags == {"team": "x"}
    assert run.get_details()["runSource"] == "SDK"


def test_cancel_a_long_step(ws, scripts, tmp_path, wait_until):
    signal = tmp_path / "slow.started"
    run = Experiment(ws, "Cancel").submit(one_step(ws, scripts, "slow.py", "--signal", str(signal)))
    wait_until(signal.exists, message="the slow step to start")
    wait_until(lambda: run.find_step_run("slow")[0].status == "Running", message="the step to be Running")
    run.cancel()
    assert run.wait_for_completion(show_output=False, timeout_seconds=30) == "Canceled"
    assert run.find_step_run("slow")[0].status == "Canceled"


def test_unknown_ids_raise_not_found(ws):
    with pytest.raises(NotFoundError, match="nope") as info:
        PipelineRun.get(ws, "nope")
    assert info.value.key == "nope"
    with pytest.raises(NotFoundError, match="registered datastores: workspaceblobstore"):
        Datastore(ws, "nope")
    with pytest.raises(NotFoundError):
        ws._backend.get_step_run("nope")


def test_datastores_upload_download_and_register(ws, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.txt").write_text("B")
    ds = ws.get_default_datastore()
    assert ds.upload(src, target_path="folder") == 2
    assert [f.path for f in ds.list("folder")] == ["folder/a.txt", "folder/sub/b.txt"]
    assert [f.path for f in ds.list("folder", recursive=False)] == ["folder/a.txt"]
    with pytest.raises(DatastoreError, match="overwrite"):
        ds.upload(src, target_path="folder")
    assert ds.upload(src, target_path="folder", overwrite=True) == 2
    impl = ds._impl  # the datastores.base.Datastore behind the SDK object: FsspecDatastore or RemoteDatastore
    assert (impl.exists("folder"), impl.is_dir("folder"), impl.is_dir("folder/a.txt")) == (True, True, False)
    assert (impl.exists("folder/sub/b.txt"), impl.exists("nope"), impl.is_dir("nope")) == (True, False, False)
    assert impl.read_bytes("folder/a.txt") == b"A"
    with pytest.raises(DatastoreError):
        impl.read_bytes("folder/missing.txt")
    assert ds.download(tmp_path / "out", prefix="folder") == 2
    assert (tmp_path / "out" / "folder" / "sub" / "b.txt").read_text() == "B"

    other = Datastore.register_local(ws, "other", tmp_path / "other-folder")
    assert other.name == "other" and other.datastore_type == "local"
    other.upload_files([str(src / "a.txt")])
    assert (tmp_path / "other-folder" / "a.txt").read_text() == "A"  # loopback server: same machine
    # Azure ML's positional order: files, relative_root, target_path, overwrite, show_progress
    assert other.upload_files([str(src / "sub" / "b.txt")], str(src), "kept", True, False) == ["kept/sub/b.txt"]
    assert (tmp_path / "other-folder" / "kept" / "sub" / "b.txt").read_text() == "B"
    assert set(ws.datastores) == {"workspaceblobstore", "other"}


def test_a_relative_datastore_folder_lives_in_the_home(ws, tmp_path, monkeypatch):
    """Embedded and remote alike: a relative folder is under the workspace's (server's) home."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    ds = Datastore.register_local(ws, "rel", "data/rel")
    home = (tmp_path / ("home" if ws.url is None else "server-home")).resolve()
    assert ds.root_uri == (home / "data" / "rel").as_uri()
    assert (home / "data" / "rel").is_dir() and list(cwd.iterdir()) == []


def test_get_runs_pages_through_every_run_and_filters_by_tags_and_properties(ws, write_scripts, monkeypatch):
    from headrace.sdk import wire

    monkeypatch.setattr(wire, "RUN_PAGE", 2)  # five runs take three pages
    monkeypatch.setattr("headrace.sdk.local.RUN_PAGE", 2)
    exp = Experiment(ws, "Paged")
    pipeline = one_step(ws, write_scripts({"ok.py": "print('ok')"}, name="ok"), "ok.py")
    runs = [exp.submit(pipeline, tags={"team": "a" if i % 2 else "b", **({"gold": "1"} if i == 4 else {})})
            for i in range(5)]
    for run in runs:
        run.wait_for_completion(show_output=False)
    newest_first = [r.id for r in reversed(runs)]
    assert [r.id for r in exp.get_runs()] == newest_first
    assert [r.id for r in exp.get_runs(tags={"team": "a"})] == [runs[3].id, runs[1].id]
    assert [r.id for r in exp.get_runs(tags="gold")] == [runs[4].id]
    assert [r.id for r in exp.get_runs(tags={"team": "b", "gold": "1"})] == [runs[4].id]
    assert list(exp.get_runs(type="azureml.StepRun")) == []
    assert len(list(exp.get_runs(type="azureml.PipelineRun", properties={}))) == 5
    assert ws._backend.count_runs(["Paged", "Nothing"]) == {"Paged": 5, "Nothing": 0}


def test_steps_of_one_source_folder_are_snapshotted_once_per_submit(ws, write_scripts, monkeypatch):
    """A 64-step fan-out from one folder made 64 snapshot lookups (64 requests on an object store)."""
    import headrace.sdk.remote as remote
    import headrace.services.runs as runs
    from headrace import Pipeline, PythonScriptStep

    if getattr(ws._backend, "resident", False):
        pytest.skip("a resident agent takes the snapshots in its own process")
    module = remote if ws.is_remote else runs
    real, calls = module.store_snapshot, []
    monkeypatch.setattr(module, "store_snapshot", lambda folder, store: calls.append(folder) or real(folder, store))
    src = write_scripts({"noop.py": "print('hi')\n"})
    other = write_scripts({"noop.py": "print('other')\n"})
    steps = [PythonScriptStep(name=f"s{i}", script_name="noop.py", source_directory=str(src)) for i in range(5)]
    steps.append(PythonScriptStep(name="other", script_name="noop.py", source_directory=str(other)))
    run = Experiment(ws, "fanout").submit(Pipeline(ws, steps))
    assert sorted(calls) == sorted([str(src), str(other)])
    assert run.wait_for_completion(show_output=False) == "Finished"
    assert len({s.get_snapshot_id() for s in run.get_steps()}) == 2
