"""RunDetails(run).show(): the notebook and terminal views, built by functions tested directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from headrace import Experiment, RunDetails
from headrace.sdk.widgets import RunView, StepView, duration, render_html, render_table, snapshot

from .scripts import one_step


def test_render_html_shows_steps_status_duration_and_link():
    view = RunView("r1", "Hello<World>", "Running", 75.0,
                   [StepView("train_step", "Finished", 1.25, False), StepView("compare", "Running", None, True)],
                   "http://127.0.0.1:8765/runs/r1")
    page = render_html(view)
    assert "Hello&lt;World&gt;" in page and "<code>r1</code>" in page and "1m 15s" in page
    assert "<td style='padding:2px 10px;text-align:left'>train_step</td>" in page and "1.2s" in page
    assert ">Running</td>" in page and ">reused</td>" in page
    assert "href='http://127.0.0.1:8765/runs/r1'" in page
    assert "href" not in render_html(RunView("r1", "e", "Queued", None, [], None))


def test_render_table_lists_every_step():
    from rich.console import Console

    view = RunView("r2", "exp", "Failed", 3.0, [StepView("a", "Finished", 1.0, False),
                                                 StepView("b", "Failed", 2.0, False)], None)
    console = Console(width=100, record=True)
    console.print(render_table(view))
    text = console.export_text()
    assert "exp run r2: Failed (3.0s)" in text and "Finished" in text and "Failed" in text
    assert duration(None) == "-" and duration(61) == "1m 01s"


def test_show_on_a_finished_run_prints_at_once_and_snapshot_reads_steps(ws, scripts, capsys):
    run = Experiment(ws, "exp").submit(one_step(ws, scripts, "train.py"))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    RunDetails(run).show()
    out = capsys.readouterr().out
    assert f"exp run {run.id}: Failed" in out and "train" in out
    view = snapshot(run, now=datetime.now(UTC) + timedelta(hours=1))
    assert [s.name for s in view.steps] == ["train"] and view.done
    assert (view.url is not None) == ws.is_remote
    data = RunDetails(run.get_steps()[0]).get_widget_data()
    assert data["run_id"] == run.id and data["steps"][0]["name"] == "train"


def test_show_on_script_and_interactive_runs(ws, scripts, capsys):
    """Microsoft's train-with-datasets notebook shows a ScriptRun; start_logging() runs have no steps."""
    from headrace import ScriptRunConfig

    run = Experiment(ws, "exp").submit(ScriptRunConfig(str(scripts), "train.py"))
    run.wait_for_completion(show_output=False, raise_on_error=False)
    RunDetails(run).show()
    captured = capsys.readouterr()
    assert f"exp run {run.id}" in captured.out and "train.py" in captured.out and "cannot show" not in captured.err
    live = Experiment(ws, "notes").start_logging()
    assert snapshot(live).steps == [] and snapshot(live).status == "Running"
    live.complete()


def test_show_waits_for_an_unfinished_run(ws, scripts, capsys):
    run = Experiment(ws, "exp").submit(one_step(ws, scripts, "prep.py"))  # fails fast: no arguments
    RunDetails(run).show()
    assert run.get_status() in ("Finished", "Failed")
    assert "prep" in capsys.readouterr().out


def test_show_never_raises(capsys):
    class Broken:
        id = "x"

        def _refresh(self):
            raise RuntimeError("store is gone")

    RunDetails(Broken()).show()
    assert "RunDetails: cannot show run x: store is gone" in capsys.readouterr().err
