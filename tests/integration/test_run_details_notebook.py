"""``RunDetails(run).show()`` in a real Jupyter kernel (ipykernel, driven by nbclient): the notebook view
is HTML the notebook displays, with the steps and their status, while the run goes and after it ended."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SETUP = """
from headrace import Experiment, Pipeline, PythonScriptStep, RunDetails, Workspace
ws = Workspace({home!r})
step = PythonScriptStep(name="train_step", script_name="train.py", source_directory={src!r})
run = Experiment(ws, "notebook").submit(Pipeline(workspace=ws, steps=[step]))
RunDetails(run).show()
"""


def html_of(cell: dict) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell["outputs"]
                   if o["output_type"] in ("display_data", "update_display_data"))


def test_the_notebook_view_is_html_in_a_real_kernel(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('training')\n")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(SETUP.format(home=str(tmp_path / "home"), src=str(tmp_path / "src"))),
        nbformat.v4.new_code_cell("run.wait_for_completion(show_output=False)\nRunDetails(run).show()"),
    ])
    env_before = dict(os.environ)
    try:
        os.environ.pop("HEADRACE_URL", None)
        NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                       ).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    first, last = html_of(notebook.cells[0]), html_of(notebook.cells[1])
    assert "train_step" in first and "<table" in first  # shown at once, as the widget is
    assert "train_step" in last and ">Finished</td>" in last
    assert not any(o["output_type"] == "error" for c in notebook.cells for o in c["outputs"])
