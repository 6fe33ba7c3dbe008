"""What ``step_overhead.py`` runs: the no-op step scripts, the chain and fan-out pipelines, and the custom
environment (a small package from a local wheel, so nothing is downloaded)."""

from __future__ import annotations

import base64
import hashlib
import time
import zipfile
from pathlib import Path

NOOP_SCRIPT = """\
import os, sys
# A no-op step. Given "--out DIR" it leaves a one-byte marker so the output exists (reuse needs it).
if "--out" in sys.argv:
    with open(os.path.join(sys.argv[sys.argv.index("--out") + 1], "done"), "w") as f:
        f.write("1")
"""

# The chain as a user's script: import, build, submit, wait, exit (prints its own submit/engine times).
PROCESS_SCRIPT = """\
import time
t0 = time.perf_counter()
import json, sys
from datetime import datetime
from headrace import Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace

home, source, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ws = Workspace(home)
ds = ws.get_default_datastore()
previous = step = None
for i in range(n):
    out = PipelineData(f"c{i}", datastore=ds)
    args = ["--out", out] if previous is None else ["--in", previous, "--out", out]
    step = PythonScriptStep(name=f"chain{i:03d}", script_name="noop.py", source_directory=source, arguments=args,
                            inputs=[] if previous is None else [previous], outputs=[out])
    previous = out
run = Experiment(ws, "bench").submit(Pipeline(workspace=ws, steps=[step]), regenerate_outputs=True)
submit = time.perf_counter() - t0
status = run.wait_for_completion(show_output=False)
details = run.get_details()
engine = datetime.fromisoformat(details["endTimeUtc"]) - datetime.fromisoformat(details["startTimeUtc"])
print(json.dumps({"status": status, "submit": submit, "engine": engine.total_seconds()}))
"""


def make_wheel(folder: Path, name: str, version: str) -> None:
    """A one-module wheel, so the environment installs offline from ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    digest = {p: base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode() for p, d in files.items()}
    record = "".join(f"{p},sha256={digest[p]},{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{info}/RECORD", record)


def bench_environment(wheels: Path):
    """One custom environment: a small package from a local wheel (nothing is downloaded)."""
    from headrace import CondaDependencies, Environment

    make_wheel(wheels, "benchtoy", "1.0")
    env = Environment("bench-env")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["benchtoy==1.0", "--no-index", f"--find-links {wheels}"])
    return env


def cold_build_seconds(env, root: Path) -> float:
    """Building the environment from nothing, in a cache folder of its own (what the first step pays once)."""
    from headrace.engine import environments

    t0 = time.perf_counter()
    environments.ensure(env.spec(), root / "cold-envs", [])
    return time.perf_counter() - t0


def build_chain(ws, source: Path, n: int, environment=None):
    from headrace import Pipeline, PipelineData, PythonScriptStep

    ds = ws.get_default_datastore()
    previous = None
    step = None
    for i in range(n):
        out = PipelineData(f"c{i}", datastore=ds)
        args = ["--out", out] if previous is None else ["--in", previous, "--out", out]
        step = PythonScriptStep(
            name=f"chain{i:03d}",
            script_name="noop.py",
            source_directory=source,
            arguments=args,
            inputs=[] if previous is None else [previous],
            outputs=[out],
            environment=environment,
        )
        previous = out
    return Pipeline(workspace=ws, steps=[step])


def build_fanout(ws, source: Path, m: int):
    from headrace import Pipeline, PipelineData, PythonScriptStep

    ds = ws.get_default_datastore()
    outs = []
    for i in range(m):
        out = PipelineData(f"f{i}", datastore=ds)
        PythonScriptStep(
            name=f"fan{i:03d}",
            script_name="noop.py",
            source_directory=source,
            arguments=["--out", out],
            outputs=[out],
        )
        outs.append(out)
    args: list = []
    for out in outs:
        args += ["--in", out]
    fan_in = PythonScriptStep(
        name="fanin", script_name="noop.py", source_directory=source, arguments=args, inputs=outs
    )
    return Pipeline(workspace=ws, steps=[fan_in])
