"""Step scripts of the two-mode SDK suite, and the contract pipeline built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headrace import DataPath, Pipeline, PipelineData, PipelineParameter, PythonScriptStep

PREP = r'''
import argparse, os, sys
from headrace import Run

p = argparse.ArgumentParser()
p.add_argument("--input"); p.add_argument("--n", type=int); p.add_argument("--out")
a = p.parse_args()
text = open(a.input).read()
rows = text.splitlines()[1:]
os.makedirs(a.out, exist_ok=True)
with open(os.path.join(a.out, "prepared.csv"), "w") as f:
    f.write(text.upper())
print(f"prep read {len(rows)} rows")
print(f"n={a.n}")
print("prep: a warning on stderr", file=sys.stderr)
run = Run.get_context()
run.log("rows", len(rows))
run.log("loss", 0.5)
run.log("loss", 0.25)
run.parent.log("pipeline_metric", 42)
'''

TRAIN = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--data"); a = p.parse_args()
print("train sees", sorted(os.listdir(a.data)))
print(open(os.path.join(a.data, "prepared.csv")).read().strip())
'''

FAIL = r'''
import sys
print("about to fail")
print("boom: the input is bad", file=sys.stderr)
sys.exit(3)
'''

SLOW = r'''
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--signal"); a = p.parse_args()
open(a.signal, "w").close()
print("slow started", flush=True)
time.sleep(60)
'''

SCRIPTS = {"prep.py": PREP, "train.py": TRAIN, "fail.py": FAIL, "slow.py": SLOW}
CSV = "a,b\n1,2\n3,4\n"


def upload_csv(ws: Any, folder: Path, name: str = "data.csv", text: str = CSV) -> str:
    """Upload a CSV to ``raw/`` on the default datastore; returns its path there."""
    local = folder / name
    local.write_text(text)
    [path] = ws.get_default_datastore().upload_files([str(local)], target_path="raw", overwrite=True)
    return path


def contract_pipeline(ws: Any, scripts: Path) -> Pipeline:
    """prep (int parameter + DataPath parameter) -> train, linked by PipelineData."""
    ds = ws.get_default_datastore()
    n = PipelineParameter(name="pipeline_arg", default_value=10)
    raw = PipelineParameter(name="input_data", default_value=DataPath(ds, "raw/data.csv"))
    prepared = PipelineData("prepared", datastore=ds)
    PythonScriptStep(name="prep", script_name="prep.py", source_directory=scripts,
                     arguments=["--input", raw, "--n", n, "--out", prepared],
                     inputs=[raw], outputs=[prepared], allow_reuse=True)
    train = PythonScriptStep(name="train", script_name="train.py", source_directory=scripts,
                             arguments=["--data", prepared], inputs=[prepared])
    return Pipeline(workspace=ws, steps=[train])


def one_step(ws: Any, scripts: Path, script: str, *args: Any) -> Pipeline:
    step = PythonScriptStep(name=script.removesuffix(".py"), script_name=script, source_directory=scripts,
                            arguments=list(args), allow_reuse=False)
    return Pipeline(workspace=ws, steps=[step])
