"""Ending the subprocesses tests start (agents, servers): politely first, then for sure."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM ``proc`` (an agent puts its runs back in the queue), then SIGKILL it if it has not ended in ``timeout``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
