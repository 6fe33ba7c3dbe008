"""Integration fixtures: a controllable step script and helpers to watch the processes it starts.

``ctl.py`` is one small step script driven by its arguments. It records what happened in a
"signals" folder the test also sees, so tests synchronise on files instead of sleeping:

- ``<name>.pid`` / ``<name>.start`` / ``<name>.end``: its pid and wall-clock start/end times;
- ``<name>.count``: one line per execution (tells reuse from re-execution);
- ``--barrier N``: writes ``<name>.arrived`` and waits until N steps have arrived (proves overlap);
- ``--wait-for FILE``: waits until ``FILE`` exists in the signals folder (a step that runs
  until the test releases it, or until it is killed);
- ``--input PATH`` / ``--out DIR`` / ``--value V``: prints what it read, writes ``DIR/result.txt``;
- ``--exit CODE``: writes a message to stderr and exits with ``CODE``.

Every wait inside the script is bounded (60 s), so a broken test cannot leave a process behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

CTL_SOURCE = r'''
import argparse, os, sys, time

p = argparse.ArgumentParser()
p.add_argument("--name", required=True)
p.add_argument("--dir", required=True)
p.add_argument("--wait-for")
p.add_argument("--barrier", type=int, default=0)
p.add_argument("--exit", type=int, default=0)
p.add_argument("--input")
p.add_argument("--out")
p.add_argument("--value")
a = p.parse_args()


def put(name, text=""):
    tmp = os.path.join(a.dir, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(a.dir, name))


def wait(predicate, what):
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            sys.exit(f"{a.name}: gave up waiting for {what}")
        time.sleep(0.02)


put(a.name + ".pid", str(os.getpid()))
put(a.name + ".start", repr(time.time()))
with open(os.path.join(a.dir, a.name + ".count"), "a") as f:
    f.write("run\n")
if a.barrier:
    put(a.name + ".arrived")
    wait(lambda: sum(n.endswith(".arrived") for n in os.listdir(a.dir)) >= a.barrier, "the barrier")
if a.wait_for:
    wait(lambda: os.path.exists(os.path.join(a.dir, a.wait_for)), a.wait_for)
if a.input:
    found = sorted(os.listdir(a.input)) if os.path.isdir(a.input) else [os.path.basename(a.input)]
    print(a.name, "input holds", found)
if a.out:
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "result.txt"), "w") as f:
        f.write(a.name)
if a.value is not None:
    print(a.name, "value", a.value)
put(a.name + ".end", repr(time.time()))
print(a.name, "done")
if a.exit:
    print(f"{a.name}: failing on purpose with code {a.exit}", file=sys.stderr)
    sys.exit(a.exit)
'''


@pytest.fixture
def signals(tmp_path: Path) -> Path:
    """The folder ``ctl.py`` steps write their signal files into."""
    folder = tmp_path / "signals"
    folder.mkdir()
    return folder


@pytest.fixture
def ctl_dir(write_scripts) -> Path:
    return write_scripts({"ctl.py": CTL_SOURCE}, name="ctl")


@pytest.fixture
def ctl_step(ctl_dir: Path, signals: Path) -> Callable[..., object]:
    """``ctl_step(name, wait_for=None, barrier=0, exit=0, input=None, out=None, value=None, **step_kwargs)``.

    ``input`` (a data object) and ``value`` (anything, e.g. a parameter) become arguments; ``out``
    (a ``PipelineData``) is the step's output folder, where it writes ``result.txt``.
    """
    from headrace import PythonScriptStep

    def make(name: str, *, wait_for: str | None = None, barrier: int = 0, exit: int = 0,
             input=None, out=None, value=None, **kwargs):
        args: list[object] = ["--name", name, "--dir", str(signals)]
        if wait_for:
            args += ["--wait-for", wait_for]
        if barrier:
            args += ["--barrier", barrier]
        if exit:
            args += ["--exit", exit]
        if value is not None:
            args += ["--value", value]
        inputs, outputs = [], []
        if input is not None:
            args += ["--input", input]
            inputs.append(input)
        if out is not None:
            args += ["--out", out]
            outputs.append(out)
        return PythonScriptStep(name=name, script_name="ctl.py", source_directory=ctl_dir, arguments=args,
                                inputs=inputs, outputs=outputs, **kwargs)

    return make


@pytest.fixture
def read_signal(signals: Path) -> Callable[[str], str | None]:
    """``read_signal("prep.pid")``: the file's text, or None while it does not exist."""

    def read(name: str) -> str | None:
        try:
            return (signals / name).read_text()
        except FileNotFoundError:
            return None

    return read


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.fixture
def is_alive() -> Callable[[int], bool]:
    return pid_alive


@pytest.fixture
def executions(read_signal) -> Callable[[str], int]:
    """``executions("prep")``: how many times the ``ctl.py`` step named ``prep`` actually ran."""

    def count(name: str) -> int:
        return len((read_signal(f"{name}.count") or "").splitlines())

    return count
