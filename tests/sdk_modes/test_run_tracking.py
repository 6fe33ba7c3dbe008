"""The Run API in the shape of Azure ML's logging-api notebook: interactive runs (``start_logging``), child runs,
images, tables, files; and the same calls on pipeline and step runs, in a step and from outside.
Embedded and remote alike."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from headrace import Experiment, Pipeline, PythonScriptStep, Run  # noqa: E402
from headrace.errors import ConflictError, NotFoundError  # noqa: E402

STEP = r'''
from headrace import Run
run = Run.get_context()
run.log("in_step", 1)
run.log_table("table", {"x": [1, 2], "y": [3, 4]})
run.log_confusion_matrix("cm", {"schema_type": "confusion_matrix", "data": {"class_labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}})
run.tag("stage", "prep")
run.parent.log("on_pipeline", 7)
run.parent.tag("from_step", "yes")
open("img.png", "wb").write(b"\x89PNG fake")
run.log_image("picture", path="img.png")
run.complete()   # harmless inside a step
print("after complete")
'''


def test_interactive_run_logs_everything_and_completes(ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("outputs").mkdir()
    Path("outputs/result.txt").write_text("done")
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "nb.py").write_text("print(1)")
    exp = Experiment(ws, "logging-api")
    run = exp.start_logging(snapshot_directory=str(tmp_path / "snap"), display_name="first")
    assert run.get_status() == "Running" and run.type == "experimentrun"
    assert "ContentSnapshotId" in run.get_properties()
    run.log("alpha", 0.1)
    run.log_list("fibonacci", [0, 1, 1, 2, 3])
    run.log_row("triangle", x=1, y=0.5)
    run.log_row("triangle", x=2, y=1.0)
    run.log_table("sine", {"angle": [0, 1], "sine": [0.0, 0.84]})
    run.log_accuracy_table("acc", json.dumps({"schema_type": "accuracy_table", "data": {"probability_tables": []}}))
    fig = plt.figure()
    plt.plot([1, 2, 3], [1, 4, 9])
    run.log_image("squares", plot=fig)
    plt.close(fig)
    run.tag("quality", "great")
    run.set_tags({"a": "1", "b": "2"})
    run.remove_tags(["b"])
    run.add_properties({"author": "me"})
    with pytest.raises(ConflictError, match="author"):
        run.add_properties({"author": "someone else"})
    (tmp_path / "model.bin").write_bytes(b"\x00\x01")
    run.upload_file("outputs/model.bin", str(tmp_path / "model.bin"))
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "sub" / "f.txt").write_text("f")
    assert run.upload_folder("data", str(tmp_path / "folder")) == ["data/sub/f.txt"]

    child = run.child_run(name="child")
    child.log("child_metric", 5)
    assert child.parent.id == run.id
    child.complete()
    assert [c.id for c in run.get_children()] == [child.id]
    run.complete()

    assert run.get_status() == "Completed"
    metrics = run.get_metrics()
    assert metrics["alpha"] == 0.1 and metrics["fibonacci"] == [0, 1, 1, 2, 3]
    assert metrics["triangle"] == [{"x": 1, "y": 0.5}, {"x": 2, "y": 1.0}]
    assert metrics["sine"] == {"angle": [0, 1], "sine": [0.0, 0.84]}
    assert metrics["acc"]["schema_type"] == "accuracy_table"
    assert metrics["squares"] == "images/squares.png"
    assert run.get_metrics(recursive=True)[child.id] == {"child_metric": 5}
    assert run.get_tags() == {"quality": "great", "a": "1"}
    assert run.get_properties()["author"] == "me"
    names = run.get_file_names()
    assert {"images/squares.png", "outputs/model.bin", "outputs/result.txt", "data/sub/f.txt"} <= set(names)
    png = run.download_file("images/squares.png", str(tmp_path / "dl"))
    assert Path(png).read_bytes().startswith(b"\x89PNG")
    assert run.get_details()["runDefinition"] == {} and run.get_details()["status"] == "Completed"

    again = Run.get(ws, run.id)
    assert again.get_metrics()["alpha"] == 0.1 and again.experiment.workspace is ws
    assert [r.id for r in exp.get_runs()] == [run.id]  # children are left out...
    assert {r.id for r in exp.get_runs(include_children=True)} == {run.id, child.id}


def test_interactive_run_as_context_manager_fails_on_error(ws, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = Experiment(ws, "with-block")
    with exp.start_logging() as ok:
        ok.log("x", 1)
    assert ok.get_status() == "Completed"
    with pytest.raises(ValueError), exp.start_logging() as bad:
        raise ValueError("broken notebook cell")
    assert bad.get_status() == "Failed" and "broken notebook cell" in bad.get_details()["error"]["error"]["message"]
    canceled = exp.start_logging()
    canceled.cancel()
    assert canceled.get_status() == "Canceled"
    canceled.complete()  # an ended run stays as it ended
    assert canceled.get_status() == "Canceled"


def test_run_api_in_a_pipeline_step_and_on_step_runs(ws, write_scripts, tmp_path):
    folder = write_scripts({"step.py": STEP})
    step = PythonScriptStep(name="logging", script_name="step.py", source_directory=folder, allow_reuse=False)
    run = Experiment(ws, "step-api").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"  # complete() did not fail the step
    [step_run] = run.get_steps()
    assert "after complete" in step_run.get_stdout_log()
    metrics = step_run.get_metrics()
    assert metrics["in_step"] == 1 and metrics["table"] == {"x": [1, 2], "y": [3, 4]}
    assert metrics["cm"]["data"]["class_labels"] == ["a", "b"] and metrics["picture"] == "images/picture.png"
    assert "images/picture.png" in step_run.get_file_names()
    assert step_run.get_tags() == {"stage": "prep"}
    assert run.get_metrics() == {"on_pipeline": 7} and run.get_tags()["from_step"] == "yes"
    assert step_run.get_details()["runDefinition"]["script"] == "step.py"

    # the same API from outside, on the step run and the pipeline run
    step_run.log("later", 2)
    step_run.tag("reviewed")
    step_run.add_properties({"checked": True})
    step_run.upload_file("notes/review.txt", str(folder / "step.py"))
    assert step_run.get_metrics(name="later") == {"later": 2}
    assert step_run.get_tags() == {"stage": "prep", "reviewed": ""}
    assert step_run.get_properties()["checked"] is True
    assert "notes/review.txt" in step_run.get_file_names()
    run.log("pipeline_score", 0.5)
    run.upload_file("summary.txt", str(folder / "step.py"))
    assert run.get_metrics()["pipeline_score"] == 0.5 and run.get_file_names() == ["summary.txt"]
    run.complete()  # an ended pipeline run stays Finished
    assert run.get_status() == "Finished"
    with pytest.raises(NotFoundError):
        step_run.download_file("nope", str(tmp_path / "nope"))
