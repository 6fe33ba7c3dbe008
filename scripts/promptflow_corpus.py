"""Measure how many of the public prompt flow repository's flows run on headrace.

Usage::

    .venv/bin/python scripts/promptflow_corpus.py CHECKOUT [--json] [--group G ...] [--only TEXT] [--jobs N]

CHECKOUT is a checkout of ``microsoft/promptflow`` (a folder holding ``examples/`` and ``src/``), or a bare git
directory of it (its ``examples`` and test configurations are then extracted to a temporary folder; blobs a
partial clone lacks are skipped). Nothing is downloaded.

The groups, as a prompt flow user meets them:

- ``standard``, ``chat``, ``evaluation``: the DAG flows under ``examples/flows/<group>/``;
- ``test-configs``: the DAG flows under ``src/promptflow*/tests/test_configs/flows/``;
- ``prompty``: every ``.prompty`` file under ``examples/`` and the test configurations;
- ``flex``: every folder with a ``flow.flex.yaml`` there.

Each DAG flow is converted as docs/flows.md tells users (``headrace flow import-promptflow SRC --out DST``);
Prompty files and flex flows run as they are. Then one line runs with ``headrace flow test ... --json``: the
inputs are the flow's defaults overlaid with its first sample (``samples.json``, ``inputs.json``, the first
line of ``data.jsonl`` / ``inputs.jsonl`` / ``samples.jsonl``; a flex flow or prompty without one uses its own
``sample``). Every LLM goes to the tests' fake OpenAI-compatible server (``tests/flows/fake_llm.py``, on
loopback), through connections created in a temporary home for every name the flows use (Azure OpenAI for
names that say so, OpenAI otherwise, ``custom`` for other names python nodes take). Where the repository ships
``expected_result.json`` next to a flow, the line's outputs and bypassed nodes are compared with its first entry.

Verdicts: ``passed``; ``failed`` with a one-line reason; ``out of scope`` with the service or feature it needs
that an offline machine cannot give (Azure AI Search, SerpAPI, embeddings and vector stores, images, C#, the
internet, a Python package that is not installed) or because the flow is one of prompt flow's own error-path
tests (built to fail or hang).
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _pf_corpus_cases import (
    GROUPS,
    PLACEHOLDERS,
    Case,
    discover,
    extract_bare,
    first_record,
    load_yaml,
    load_yaml_text,
    missing_package,
    out_of_scope,
    sample_inputs,
)
from _pf_corpus_fakes import connection_names, create_connections, repo_connections, respond

ROOT = Path(__file__).resolve().parent.parent
HEADRACE = str(ROOT / ".venv" / "bin" / "headrace")
URL_FAILURE = re.compile(r"Name or service not known|Temporary failure in name resolution|nodename nor servname|"
                         r"getaddrinfo|Max retries exceeded|ConnectError|Connection refused|No address", re.I)


# ---------------------------------------------------------------------------------------------------- running


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected(folder: Path) -> dict[str, Any] | None:
    file = folder / "expected_result.json"
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data[0] if isinstance(data, list) and data else data if isinstance(data, dict) else None


def _json_out(stdout: str) -> dict[str, Any] | None:
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(stdout[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def run_case(case: Case, work: Path, env: dict[str, str], timeout: float) -> Case:
    started = time.monotonic()
    try:
        _run(case, work, env, timeout)
    except subprocess.TimeoutExpired:
        case.verdict, case.reason = "failed", f"timed out after {timeout:.0f} s"
    except Exception as exc:  # the harness reports, it does not stop
        case.verdict, case.reason = "failed", f"harness: {type(exc).__name__}: {_short(str(exc))}"
    case.seconds = round(time.monotonic() - started, 2)
    print(f"{case.group:<13} {case.name:<60} {case.verdict:<13} {case.reason}", file=sys.stderr, flush=True)
    return case


def _run(case: Case, work: Path, env: dict[str, str], timeout: float) -> None:
    scope = out_of_scope(case)
    if scope:
        case.verdict, case.reason = "out of scope", scope
        return
    slot = work / re.sub(r"[^\w.-]", "_", f"{case.group}-{case.name}")
    args: list[str] = []
    if case.kind == "dag":
        spec = load_yaml(case.path / "flow.dag.yaml")
        done = subprocess.run([HEADRACE, "flow", "import-promptflow", str(case.path), "--out", str(slot), "--force"],
                              env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            case.verdict = "failed"
            case.reason = "import: " + _short(_last_lines(done.stdout + done.stderr))
            return
        inputs, _ = sample_inputs(case.path, spec.get("inputs") or {})
        target = slot
    elif case.kind == "flex":
        target = case.path  # in place: its additional_includes name paths outside the folder
        inputs, found = sample_inputs(case.path, {})
        flex = load_yaml(case.path / "flow.flex.yaml")
        sample = flex.get("sample") if isinstance(flex.get("sample"), dict) else {}
        call_params, init_params = entry_params(case.path, str(flex.get("entry") or ""))
        if not found:
            inputs = {} if sample.get("inputs") else call_params
        if (case.path / "init.json").exists():
            args += ["--init", str(case.path / "init.json")]
        elif init_params and not sample.get("init"):
            file = work / (slot.name + ".init.json")
            file.write_text(json.dumps(init_params), encoding="utf-8")
            args += ["--init", str(file)]
    else:
        target = case.path  # in place: its ${file:...} references may leave its folder
        front = load_yaml_text(case.path.read_text(encoding="utf-8", errors="replace"))
        sample = front.get("sample")
        if isinstance(sample, str):  # ${file:sample.json}, or just sample.json
            name = sample[len("${file:"):-1] if sample.startswith("${file:") else sample
            sample = first_record(case.path.parent / name) or sample
        declared = front.get("inputs") or {}
        missing = {k: PLACEHOLDERS.get(v.get("type", "string") if isinstance(v, dict) else "string", "hello")
                   for k, v in declared.items() if not (isinstance(v, dict) and "default" in v)
                   and not (isinstance(sample, dict) and k in sample)}
        inputs = {**sample, **missing} if isinstance(sample, dict) and missing else missing if not sample else {}
    if inputs:
        file = work / (slot.name + ".inputs.json")
        file.write_text(json.dumps(inputs), encoding="utf-8")
        args += ["--inputs-file", str(file)]
    done = subprocess.run([HEADRACE, "flow", "test", str(target), *args, "--json", "--timeout", str(timeout)],
                          env=env, capture_output=True, text=True, timeout=timeout + 30, check=False,
                          cwd=str(target if target.is_dir() else target.parent))
    result = _json_out(done.stdout)
    if done.returncode != 0 or not result or result.get("status") not in (None, "Completed"):
        message = ""
        if result and result.get("error"):
            error = result["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
        message = message or _last_lines(done.stderr or done.stdout)
        package = missing_package(message + done.stderr)
        local = case.path if case.path.is_dir() else case.path.parent
        if package and any(local.parent.rglob(f"{package.split('.')[0]}.py")):
            case.verdict, case.reason = "failed", f"module {package!r} of the repository not found (additional_includes)"
        elif package:
            case.verdict, case.reason = "out of scope", f"Python package {package!r}, not installed"
        elif URL_FAILURE.search(message) and "127.0.0.1" not in message:
            case.verdict, case.reason = "out of scope", "the internet: " + _short(message, 100)
        else:
            case.verdict, case.reason = "failed", _short(message or f"exit {done.returncode}")
        return
    case.outputs = result.get("outputs")
    expected = _expected(case.path) if case.kind == "dag" else None
    if expected:
        problem = compare(expected, result)
        if problem:
            case.verdict, case.reason = "failed", "expected_result.json: " + problem
            return
        case.verdict, case.reason = "passed", "matches expected_result.json"
        return
    case.verdict = "passed"


def _placeholder(annotation: str) -> Any:
    low = annotation.lower()
    if "azureopenaimodelconfiguration" in low:
        return {"azure_deployment": "gpt-35-turbo", "connection": "azure_open_ai_connection"}
    if "modelconfiguration" in low:
        return {"model": "gpt-4o-mini", "connection": "open_ai_connection"}
    if "connection" in low:
        return "azure_open_ai_connection" if "azure" in low else "open_ai_connection"
    for hint, value in (("int", 1), ("float", 1.0), ("bool", True), ("list", []), ("dict", {})):
        if low.startswith(hint):
            return value
    return "hello"


def entry_params(folder: Path, entry: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Placeholders for the required parameters of a flex entry, and of its class's ``__init__``."""
    module, _, attr = entry.partition(":")
    file = folder.joinpath(*module.split(".")).with_suffix(".py")
    try:
        tree = ast.parse(file.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}, {}

    def required(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
        params = [a for a in fn.args.args if a.arg != "self"]
        optional = len(fn.args.defaults)
        chosen = params[: len(params) - optional] if optional else params
        return {a.arg: _placeholder(ast.unparse(a.annotation) if a.annotation else "") for a in chosen}

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == attr:
            return required(node), {}
        if isinstance(node, ast.ClassDef) and node.name == attr:
            methods = {m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
            call = required(methods["__call__"]) if "__call__" in methods else {}
            init = required(methods["__init__"]) if "__init__" in methods else {}
            return call, init
    return {}, {}


def compare(expected: dict[str, Any], result: dict[str, Any]) -> str:
    outputs = result.get("outputs") or {}
    for key, want in (expected.get("expected_outputs") or {}).items():
        if outputs.get(key) != want:
            return f"output {key!r} is {_short(json.dumps(outputs.get(key)), 60)}, expected {_short(json.dumps(want), 60)}"
    if "expected_bypassed_nodes" in expected:
        nodes = result.get("nodes") or {}
        bypassed = sorted(n for n, t in nodes.items() if isinstance(t, dict) and t.get("status") == "Bypassed")
        if bypassed != sorted(expected["expected_bypassed_nodes"]):
            return f"bypassed {bypassed}, expected {sorted(expected['expected_bypassed_nodes'])}"
    return ""


def _last_lines(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if re.search(r"error|not converted|failed|exception", line, re.I):
            return line
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------------- report


def table(cases: list[Case]) -> str:
    rows = [f"{'group':<13} {'flow':<70} {'verdict':<13} reason"]
    for case in cases:
        rows.append(f"{case.group:<13} {_short(case.name, 70):<70} {case.verdict:<13} {case.reason}")
    rows.append("")
    rows.append(f"{'group':<13} {'flows':>6} {'passed':>7} {'failed':>7} {'out of scope':>13}")
    for group in (*GROUPS, "total"):
        chosen = [c for c in cases if group in (c.group, "total")]
        if not chosen:
            continue
        counts = [sum(c.verdict == v for c in chosen) for v in ("passed", "failed", "out of scope")]
        rows.append(f"{group:<13} {len(chosen):>6} {counts[0]:>7} {counts[1]:>7} {counts[2]:>13}")
    return "\n".join(rows)


def totals(cases: list[Case]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for group in (*GROUPS, "total"):
        chosen = [c for c in cases if group in (c.group, "total")]
        out[group] = {"flows": len(chosen), **{v: sum(c.verdict == v for c in chosen)
                                               for v in ("passed", "failed", "out of scope")}}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="promptflow checkout, or its bare git directory")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--group", action="append", choices=GROUPS, help="only these groups (repeat)")
    parser.add_argument("--only", help="only flows whose name contains this text")
    parser.add_argument("--jobs", type=int, default=2, help="flows run at the same time (default 2)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds per flow (default 90)")
    parser.add_argument("--keep", type=Path, help="write the converted flows here (default: a temporary folder)")
    args = parser.parse_args(argv)

    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "flows")]
    from fake_llm import serve  # noqa: PLC0415  (the tests' fake, importable only with tests/ on the path)

    with tempfile.TemporaryDirectory(prefix="pf-corpus-") as tmp:
        root = args.checkout.resolve()
        if not (root / "examples").is_dir() and (root / "HEAD").exists():
            root = extract_bare(root, Path(tmp) / "checkout")
        cases = [c for c in discover(root)
                 if (not args.group or c.group in args.group) and (not args.only or args.only in c.name)]
        work = (args.keep or Path(tmp) / "work").resolve()
        work.mkdir(parents=True, exist_ok=True)
        home = Path(tmp) / "home"
        with serve() as fake:
            fake.responder = respond
            env = {**os.environ, "HEADRACE_HOME": str(home), "OPENAI_API_KEY": "fake-key",
                   "OPENAI_BASE_URL": fake.url + "/v1", "AZURE_OPENAI_ENDPOINT": fake.url,
                   "AZURE_OPENAI_API_KEY": "fake-key", "AZURE_OPENAI_API_BASE": fake.url, "OPENAI_API_VERSION": "2024-10-21",
                   "AZURE_OPENAI_DEPLOYMENT": "gpt-35-turbo",
                   # what prompt flow's own tests set for their prompty files
                   "MOCK_AZURE_DEVELOPMENT": "gpt-35-turbo", "MOCK_AZURE_API_KEY": "fake-key",
                   "MOCK_AZURE_API_VERSION": "2024-10-21", "MOCK_AZURE_ENDPOINT": fake.url, "PYTHONDONTWRITEBYTECODE": "1"}
            env.pop("HEADRACE_TEST_PG_URL", None)
            llm, names = connection_names(cases)
            custom = {**dict.fromkeys(names - llm, []), **repo_connections(root)}
            create_connections(HEADRACE, home, fake.url, llm - set(custom), custom, env)
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                done = list(pool.map(lambda c: run_case(c, work, env, args.timeout), cases))
    if args.json:
        print(json.dumps({"totals": totals(done), "flows": [
            {k: v for k, v in asdict(c).items() if k != "outputs"} | {"path": str(c.path.relative_to(root))}
            for c in done]}, indent=2, default=str))
    else:
        print(table(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
