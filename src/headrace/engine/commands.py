"""Running a command step's argv: which executable it names, and how it starts.

A command runs as its own process in the step's snapshot folder, without a shell. ``python`` / ``python3``
mean the step's interpreter; a name without a slash is looked up on the step's ``PATH``, a path is taken
relative to the snapshot folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from headrace.core.command_step import PYTHON_NAMES
from headrace.errors import ComputeError


class CommandNotFoundError(ComputeError):
    """A command step's executable is neither on its ``PATH`` nor in its snapshot folder."""


def resolve(argv: list[str], env: dict[str, str], cwd: Path, python: str) -> list[str]:
    """``argv`` with its executable made a path (``python`` for ``python``/``python3``); ``env``'s ``PATH`` starts
    with ``python``'s folder when it is a virtual environment's (so ``bash -c "python ..."`` finds it too).

    Raises:
        CommandNotFoundError: the executable does not exist or is not executable.
    """
    argv = list(argv)
    if argv[0] in PYTHON_NAMES:
        argv[0] = python
    bin_dir = Path(python).parent if os.path.isabs(python) else None
    if bin_dir is not None and (bin_dir.parent / "pyvenv.cfg").is_file():
        env["PATH"] = os.pathsep.join([str(bin_dir), *[p for p in env.get("PATH", "").split(os.pathsep) if p]])
    name = argv[0]
    if os.sep in name:
        path = name if os.path.isabs(name) else str(cwd / name)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise CommandNotFoundError(f"command {name!r}: no executable file at {name!r} in the step's snapshot "
                                       "folder (check the path, and that the file is executable: chmod +x)")
        return argv
    found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise CommandNotFoundError(f"command {name!r} not found: no such executable on the step's PATH; install it "
                                   "where the step runs, or give its path (./tool relative to the source folder)")
    argv[0] = found
    return argv


def runs_script(argv: list[str]) -> bool:
    """Whether ``argv`` is ``<python> script.py ...``, which a warm interpreter may fork like a script step."""
    return len(argv) >= 2 and Path(argv[0]).name.startswith("python") and argv[1].endswith(".py") \
        and not argv[1].startswith("-")


def start_error(argv: list[str], exc: OSError) -> str:
    """The step's error when its command could not be started."""
    return f"command {argv[0]!r} could not be started: {exc.strerror or exc}"
