"""The REST benchmarks read a step's start time from a stamp file: never an empty (half-written) one.

``trigger_latency.py`` used to read the stamp as soon as the file existed, got "" and recorded nan,
then judged its goal on that nan.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _server import STEP, read_stamp  # noqa: E402


def test_an_empty_stamp_is_waited_for_never_read_as_nan(tmp_path):
    stamp = tmp_path / "run-1"
    stamp.write_text("")  # created, not yet written
    with pytest.raises(RuntimeError, match="no start time"):
        read_stamp(stamp, timeout=0.05)
    stamp.write_text("1234.5")
    assert read_stamp(stamp) == 1234.5


def test_the_step_writes_its_stamp_whole(tmp_path):
    script = tmp_path / "step.py"
    script.write_text(STEP)
    env = {**os.environ, "BENCH_STAMPS": str(tmp_path), "HEADRACE_RUN_ID": "run-2"}
    subprocess.run([sys.executable, str(script)], env=env, check=True, timeout=60)
    assert math.isfinite(read_stamp(tmp_path / "run-2", timeout=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-2", "step.py"]  # no temporary left behind
