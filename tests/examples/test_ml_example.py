"""The ML example pipeline (examples/ml-pipeline) run end to end, as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ml-pipeline" / "pipeline.py"


@pytest.fixture
def run_example(tmp_path: Path):
    """Run pipeline.py in a fresh HEADRACE_HOME; return (completed process, summary dict)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["HEADRACE_HOME"] = str(tmp_path / "home")
    counter = iter(range(100))

    def run(*args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
        summary_file = tmp_path / f"summary-{next(counter)}.json"
        proc = subprocess.run(
            [sys.executable, str(EXAMPLE), "--summary-json", str(summary_file), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert proc.returncode == 0, (
            f"exit code {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
        return proc, json.loads(summary_file.read_text(encoding="utf-8"))

    return run


def _steps(summary: dict) -> dict[str, dict]:
    return {s["name"]: s for s in summary["steps"]}


def test_example_trains_a_good_model_then_reuses_every_step(run_example) -> None:
    proc, first = run_example()
    steps = _steps(first)
    assert set(steps) == {"prepare", "train", "evaluate"}
    assert first["status"] == "Finished"
    assert all(s["status"] == "Finished" and not s["reused"] for s in steps.values())
    assert steps["evaluate"]["metrics"]["accuracy"] > 0.7
    assert first["metrics"]["accuracy"] == steps["evaluate"]["metrics"]["accuracy"]  # logged on the parent
    assert steps["train"]["loss_points"] == 200  # one loss value per epoch (the default)
    assert steps["prepare"]["metrics"]["train_rows"] + steps["prepare"]["metrics"]["test_rows"] == 150
    assert "confusion matrix" in proc.stdout

    _, second = run_example()
    steps2 = _steps(second)
    assert second["run_id"] != first["run_id"]
    assert all(s["status"] == "Finished" and s["reused"] for s in steps2.values())
    assert steps2["evaluate"]["metrics"]["accuracy"] == steps["evaluate"]["metrics"]["accuracy"]


def test_changing_a_training_parameter_reruns_only_the_steps_it_affects(run_example) -> None:
    run_example()
    _, changed = run_example("--param", "epochs=50")
    steps = _steps(changed)
    assert changed["parameters"]["epochs"] == 50
    assert steps["prepare"]["reused"]
    assert not steps["train"]["reused"] and not steps["evaluate"]["reused"]
    assert steps["train"]["loss_points"] == 50
    assert steps["evaluate"]["metrics"]["accuracy"] > 0.7
