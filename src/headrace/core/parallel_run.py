"""What a ParallelRunStep's driver and its readers share: sizes, file names and the progress line. Pure.

The driver (``headrace.sdk.parallel``) runs as the step's script on any compute target, so the one channel
every target streams back while a step runs is its stdout: the driver prints a progress line there now and
then, and the run page and the CLI read the last one (``last_progress``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

DRIVER_SCRIPT = "_headrace_parallel_run.py"
"""The script name of every ParallelRunStep (its generated driver): how readers tell such a step."""

DEFAULT_APPEND_ROW_FILE = "parallel_run_step.txt"
"""Azure ML's name of the file ``append_row`` writes in the step's output folder."""

DEFAULT_FILE_BATCH = 10
"""Files per mini-batch when ``mini_batch_size`` is not given (Azure ML's default)."""

DEFAULT_TABULAR_BATCH = 1024 * 1024
"""Bytes of source data per mini-batch of a tabular input when ``mini_batch_size`` is not given (1MB)."""

PROGRESS_PREFIX = "[parallel_run] progress "

_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG][bB])?\s*$")
_UNITS = {"": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}


def parse_size(value: int | str) -> int:
    """``mini_batch_size`` as a number: a count of files, or bytes of a tabular input (``"1024"``, ``"10KB"``,
    ``"5MB"``, ``"1GB"``).

    Raises:
        ValueError: not a positive whole number with an optional KB/MB/GB unit.
    """
    if isinstance(value, bool):
        raise ValueError(f"mini_batch_size {value!r} is not a number")
    if isinstance(value, int):
        number = value
    else:
        match = _SIZE.match(str(value))
        if match is None:
            raise ValueError(f"mini_batch_size {value!r} must be a whole number, optionally followed by KB, MB or "
                             "GB (e.g. 10, '1024KB', '5MB')")
        number = int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if number < 1:
        raise ValueError(f"mini_batch_size {value!r} must be at least 1")
    return number


@dataclass(frozen=True)
class Progress:
    """Where a parallel run stands: mini-batches done (succeeded), failed (out of tries) and left."""

    total: int
    done: int
    failed: int
    left: int
    items_failed: int = 0
    retries: int = 0

    def text(self) -> str:
        """One short line for people: ``120/1000 mini-batches done, 2 failed, 878 left``."""
        extra = f", {self.retries} retried" if self.retries else ""
        return f"{self.done}/{self.total} mini-batches done, {self.failed} failed, {self.left} left{extra}"


def progress_line(progress: Progress) -> str:
    """The stdout line the driver prints (``PROGRESS_PREFIX`` + JSON)."""
    return PROGRESS_PREFIX + json.dumps(asdict(progress), sort_keys=True)


def last_progress(text: str) -> Progress | None:
    """The last progress line in a step's stdout, or None when it printed none (or only a cut one)."""
    at = text.rfind(PROGRESS_PREFIX)
    while at >= 0:
        line = text[at + len(PROGRESS_PREFIX):].split("\n", 1)[0]
        try:
            fields = json.loads(line)
            return Progress(**{k: int(fields[k]) for k in ("total", "done", "failed", "left")},
                            items_failed=int(fields.get("items_failed", 0)), retries=int(fields.get("retries", 0)))
        except (ValueError, KeyError, TypeError):
            at = text.rfind(PROGRESS_PREFIX, 0, at)
    return None
