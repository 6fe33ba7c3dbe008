"""The driver as the step's process runs it: what it loads and what it leaves for the agent to store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ENTRY = "def run(mini_batch):\n    return [len(open(p).read()) for p in mini_batch]\n"

PROBE = """
import sys
from headrace.sdk.parallel.driver import main
code = main(sys.argv[1:])
print(sorted(m for m in sys.modules if m.startswith(("headrace.sdk.context", "headrace.sdk.runs", "headrace.config",
                                                      "headrace.storage"))))
sys.exit(code)
"""


def test_a_path_input_step_logs_its_counts_without_loading_the_run_api(tmp_path: Path) -> None:
    # The Run API pulls in the SDK and the settings (~0.15 s): too much for a driver that only appends six lines;
    # the store's records (~15 ms) are not needed either.
    files = tmp_path / "files"
    files.mkdir()
    for i in range(7):
        (files / f"f{i}.txt").write_text("x" * i)
    (tmp_path / "score.py").write_text(ENTRY)
    context = tmp_path / "context"
    context.mkdir()
    env = {**os.environ, "HEADRACE_RUN_ID": "r1", "HEADRACE_STEP_RUN_ID": "s1", "HEADRACE_CONTEXT_DIR": str(context)}
    env.pop("HEADRACE_RUN_KIND", None)
    argv = ["--entry_script", str(tmp_path / "score.py"), "--mini_batch_size", "3", "--process_count_per_node", "1",
            "--output", str(tmp_path / "out"), "--input_path", str(files)]
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
    lines = [json.loads(line) for line in (context / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"name": name, "value": value, "kind": "scalar", "scope": "step"} for name, value in (
        ("mini_batches", 3), ("mini_batches_done", 3), ("mini_batches_failed", 0), ("items_failed", 0),
        ("mini_batch_retries", 0), ("rows", 7))]
    assert sorted((tmp_path / "out" / "parallel_run_step.txt").read_text().split()) == [str(i) for i in range(7)]
