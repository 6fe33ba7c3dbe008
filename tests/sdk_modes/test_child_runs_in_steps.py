"""``run.child_run()`` inside a step script (``Run.get_context()``): each child is recorded under the run it was
started from (the step run, the pipeline run, another child) with its own metrics, tags, status and files.
Real step subprocesses; embedded and remote alike."""

from __future__ import annotations

from headrace import Experiment, Pipeline, PythonScriptStep, Run

PNG = ("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
       "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")

STEP = r'''
import sys
from headrace import Run
PNG = "PNG_HEX"
run = Run.get_context()
run.log("own", 1)
with run.child_run("fold-1") as child:
    child.log("acc", 0.9)
    child.log("acc", 0.95)
    child.tag("fold", "1")
    child.add_properties({"k": 3})
    inner = child.child_run("inner")   # never ended: takes the step's ending
    inner.log("x", 1)
    assert child.get_metrics() == {"acc": [0.9, 0.95]} and child.get_status() == "Running"
bad = run.child_run(name="bad")
bad.fail("diverged")
run.parent.child_run("on-pipeline").log("p", 2)
bad.upload_file("notes/a.txt", __file__)
open("pixel.png", "wb").write(bytes.fromhex(PNG))
bad.log_image("pixel", path="pixel.png")
assert bad.get_file_names() == ["images/pixel.png", "notes/a.txt"], bad.get_file_names()
try:
    run.parent.upload_file("a.txt", __file__)
except Exception as exc:
    print("refused:", type(exc).__name__)
print("children started")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
'''.replace("PNG_HEX", PNG)


def _children(run) -> dict[str, Run]:
    return {c._record.description: c for c in run.get_children() if hasattr(c._record, "description")}


def test_child_runs_of_a_step_are_recorded_under_it(ws, write_scripts, tmp_path):
    folder = write_scripts({"step.py": STEP})
    step = PythonScriptStep(name="cv", script_name="step.py", source_directory=folder, allow_reuse=False)
    run = Experiment(ws, "children-in-step").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False) == "Finished"
    [step_run] = run.get_steps()
    assert "refused: ConfigError" in step_run.get_stdout_log()
    assert step_run.get_metrics() == {"own": 1}  # the children's values are theirs only

    children = _children(step_run)
    assert sorted(children) == ["bad", "fold-1"]
    fold = children["fold-1"]
    assert fold.get_status() == "Completed" and fold.get_metrics() == {"acc": [0.9, 0.95]}
    assert fold.get_tags()["fold"] == "1" and fold.get_properties()["k"] == 3
    assert fold.parent.id == step_run.id and fold.experiment.name == "children-in-step"
    assert children["bad"].get_status() == "Failed" and "diverged" in (children["bad"]._record.error or "")
    # the files a child kept are its own run files, read like any run's
    bad = Run.get(ws, children["bad"].id)
    assert bad.get_file_names() == ["images/pixel.png", "notes/a.txt"]
    assert bad.download_file("notes/a.txt", str(tmp_path / "a.txt")) and "child_run" in (tmp_path / "a.txt").read_text()
    children["bad"].download_file("images/pixel.png", str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").read_bytes() == bytes.fromhex(PNG)
    assert "pixel" in bad.get_metrics()  # the image is logged as a value naming its file
    assert "images/pixel.png" not in step_run.get_file_names() and fold.get_file_names() == []
    [inner] = fold.get_children()
    assert inner.get_status() == "Completed" and inner.get_metrics() == {"x": 1} and inner.parent.id == fold.id
    again = Run.get(ws, fold.id)
    assert again.get_metrics() == {"acc": [0.9, 0.95]}
    # A pipeline run lists its step runs as children (Azure ML); its own child runs are runs with it as parent.
    [on_pipeline] = Run.get_children(run)
    assert on_pipeline.get_metrics() == {"p": 2} and on_pipeline.parent.id == run.id


def test_children_left_open_take_a_failed_step_ending(ws, write_scripts):
    folder = write_scripts({"step.py": STEP})
    step = PythonScriptStep(name="cv", script_name="step.py", source_directory=folder, arguments=[3],
                            allow_reuse=False)
    run = Experiment(ws, "children-failed-step").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    [step_run] = run.get_steps()
    fold = _children(step_run)["fold-1"]
    assert fold.get_status() == "Completed"  # ended by its with block before the step failed
    [inner] = fold.get_children()
    assert inner.get_status() == "Failed" and "step failed" in (inner._record.error or "")


def test_a_child_run_outside_a_run_prints(capsys):
    from headrace.sdk.context import OfflineRun

    child = OfflineRun().child_run("offline-child")
    child.log("m", 1)
    child.complete()
    child.upload_file("x.txt", __file__)
    out = capsys.readouterr().out
    assert "child run offline-child" in out and "x.txt" in out and "not kept" in out
