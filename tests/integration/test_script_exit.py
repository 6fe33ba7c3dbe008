"""A script that submits and ends: its runs finish before the interpreter exits, or go back to the
queue on Ctrl+C. Each script runs as a real ``python`` subprocess on an embedded workspace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from headrace import PipelineRun, Workspace

SUBMIT_AND_END = r'''
import sys
from headrace import Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace

home, ctl, signals, shape, ending = sys.argv[1:6]
ws = Workspace(home)


def step(name, *extra, **kw):
    return PythonScriptStep(name=name, script_name="ctl.py", source_directory=ctl,
                            arguments=["--name", name, "--dir", signals, *extra], **kw)


if shape == "fan-out":  # first -> (left, right): the later steps start while the interpreter exits
    d = PipelineData("d")
    first = step("first", "--out", d, outputs=[d])
    steps = [step("left", "--input", d, inputs=[d]), step("right", "--input", d, inputs=[d])]
else:  # one step that runs until the test releases it
    steps = [step("held", "--wait-for", "release")]
run = Experiment(ws, "ends-early").submit(Pipeline(workspace=ws, steps=steps))
print(run.id, flush=True)
if ending == "error":
    raise RuntimeError("the script fails after submitting")
'''


def _start_script(tmp_path: Path, ctl_dir: Path, signals: Path, shape: str,
                  ending: str = "end") -> subprocess.Popen[str]:
    script = tmp_path / "submit_and_end.py"
    script.write_text(SUBMIT_AND_END)
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "home"), str(ctl_dir), str(signals), shape, ending],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )


@pytest.mark.parametrize("ending", ["end", "error"])
def test_a_script_that_submits_and_ends_waits_for_its_run(tmp_path, ctl_dir, signals, ending):
    proc = _start_script(tmp_path, ctl_dir, signals, "fan-out", ending)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == (0 if ending == "end" else 1), err
    run = PipelineRun.get(Workspace(tmp_path / "home"), out.split()[0])
    assert run.get_status() == "Finished", (run.get_details(), err)
    assert {s.name: s.status for s in run.get_steps()} == {"first": "Finished", "left": "Finished",
                                                           "right": "Finished"}
    assert "waiting for 1 run(s) submitted by this process" in err
    assert f"headrace: run {run.id} Finished" in err
    assert "cannot schedule new futures" not in err


def test_ctrl_c_while_a_script_waits_at_exit_puts_its_run_back_in_the_queue(tmp_path, ctl_dir, signals, wait_until):
    with _start_script(tmp_path, ctl_dir, signals, "held") as proc:
        try:
            run_id = proc.stdout.readline().strip()
            # Ctrl+C once the script's own code has ended and it waits at exit (bounded: the step
            # gives up after 60 s, and then the script ends).
            seen = []
            while not any("waiting for 1 run(s)" in line for line in seen) and (line := proc.stderr.readline()):
                seen.append(line)
            assert proc.poll() is None, f"the script ended without waiting: {''.join(seen)}"
            wait_until(lambda: (signals / "held.start").exists() or proc.poll() is not None, timeout=60,
                       message="the step to start")
            assert proc.poll() is None, f"the script ended before its step started: {''.join(seen)}"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    run = PipelineRun.get(Workspace(tmp_path / "home"), run_id)
    assert run.get_status() == "Queued", err
    assert [s.status for s in run.get_steps()] == ["NotStarted"]
    # The next agent (here: this process's, started by waiting) resumes it.
    (signals / "release").touch()
    assert run.wait_for_completion(timeout_seconds=60) == "Finished"
    assert (signals / "held.count").read_text().count("run") == 2
