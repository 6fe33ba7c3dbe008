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
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
HEADRACE = str(ROOT / ".venv" / "bin" / "headrace")
GROUPS = ("standard", "chat", "evaluation", "test-configs", "prompty", "flex")
# prompt flow's own error-path tests: flows written to fail, hang or be refused.
ERROR_PATH = re.compile(r"exception|fail|invalid|wrong|error|incorrect|not_exist|long_running|timeout|"
                        r"random_fail|illegal|not_provided|multiple_(flex|flow)_yaml|unknown", re.I)
# Fixtures that only make sense inside prompt flow's own tests (checked by reading those tests).
FIXTURES = {
    "simple_flow_with_python_tool": "its inputs.jsonl gives 'hello' to an int input (an input-validation test)",
    "basic-with-connection": "reads API_TYPE, which prompt flow's test sets in the environment",
    "llm_connection_override": "its connection ('aoai connection') is given by the test at run time",
    "flow-with_tool_settings": "a tool-settings meta test: its output names a node the flow does not have",
    "script_with___file__": "asserts prompt flow's internal module name (__name__ == '__pf_main__')",
    "stream_prompty": "its entry raises Exception('Exception') on purpose",
}
OUT_OF_SCOPE_TOOLS = {  # package tool / module hint -> what it needs
    "serpapi": "SerpAPI (internet search service)",
    "embedding": "an embeddings service and a vector DB",
    "vector": "a vector DB",
    "faiss": "a vector DB (faiss)",
    "azure_content_safety": "Azure Content Safety",
    "content_safety": "Azure Content Safety",
    "open_model_llm": "an Azure ML online endpoint",
    "azure_translator": "Azure Translator",
    "azure_language": "Azure AI Language",
    "cognitive": "Azure AI services",
    "search": "Azure AI Search",
    "openai_gpt4v": "images (GPT-4V)",
    "aoai_gpt4v": "images (GPT-4V)",
    "llmlingua": "LLMLingua",
}
URL_FAILURE = re.compile(r"Name or service not known|Temporary failure in name resolution|nodename nor servname|"
                         r"getaddrinfo|Max retries exceeded|ConnectError|Connection refused|No address", re.I)


@dataclass
class Case:
    """One flow of the corpus."""

    group: str
    name: str
    path: Path
    kind: str  # dag | prompty | flex
    verdict: str = ""
    reason: str = ""
    seconds: float = 0.0
    outputs: Any = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------------- discovery


def extract_bare(git_dir: Path, dest: Path) -> Path:
    """Write the corpus's paths of a bare git directory to ``dest`` (absent blobs skipped)."""
    listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "HEAD", "examples", "src"],
                             capture_output=True, check=True).stdout.decode().split("\0")
    wanted = []
    for entry in listing:
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and (path.startswith("examples/") or "/tests/test_configs/" in path
                               or path.endswith("dev-connections.json.example")):
            wanted.append((mode, sha, path))
    cat = subprocess.Popen(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert cat.stdin and cat.stdout
    for mode, sha, path in wanted:
        cat.stdin.write(f"{sha}\n".encode())
        cat.stdin.flush()
        header = cat.stdout.readline().decode().split()
        if header[-1] == "missing":
            continue
        data = cat.stdout.read(int(header[2]))
        cat.stdout.read(1)
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            try:
                target.symlink_to(data.decode())
            except OSError:
                pass
        else:
            target.write_bytes(data)
    cat.stdin.close()
    cat.wait()
    return dest


def discover(root: Path) -> list[Case]:
    """Every flow of the corpus under ``root``, grouped."""
    cases: list[Case] = []
    for group in ("standard", "chat", "evaluation"):
        for folder in sorted((root / "examples" / "flows" / group).glob("*/")):
            if (folder / "flow.dag.yaml").exists():
                cases.append(Case(group, folder.name, folder, "dag"))
    configs = sorted(root.glob("src/promptflow*/tests/test_configs"))
    for base in configs:
        for folder in sorted((base / "flows").glob("*/")):
            if (folder / "flow.dag.yaml").exists():
                cases.append(Case("test-configs", folder.name, folder, "dag"))
    for top in [root / "examples", *configs]:
        for file in sorted(top.rglob("*.prompty")):
            cases.append(Case("prompty", str(file.relative_to(root)), file, "prompty"))
        for file in sorted(top.rglob("flow.flex.yaml")):
            cases.append(Case("flex", str(file.parent.relative_to(root)), file.parent, "flex"))
    return cases


# ---------------------------------------------------------------------------------------------------- inputs


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # a broken file is the run's verdict to give, not discovery's
        return {}
    return data if isinstance(data, dict) else {}


def _first_record(path: Path) -> dict[str, Any] | None:
    try:
        if path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    value = json.loads(line)
                    return value if isinstance(value, dict) else None
            return None
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


SAMPLE_FILES = ("samples.json", "inputs.json", "sample.json", "data.jsonl", "inputs.jsonl", "samples.jsonl")
PLACEHOLDERS = {"string": "hello", "int": 1, "double": 1.0, "bool": True, "list": [], "object": {}}


def sample_inputs(folder: Path, declared: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The inputs of one line, and whether they came from a sample the repository ships."""
    values = {name: spec["default"] for name, spec in declared.items()
              if isinstance(spec, dict) and "default" in spec}
    found = False
    for name in SAMPLE_FILES:
        record = _first_record(folder / name)
        if record is not None:
            values.update({k: v for k, v in record.items() if not declared or k in declared})
            found = True
            break
    for name, spec in declared.items():
        if name not in values:
            kind = spec.get("type", "string") if isinstance(spec, dict) else "string"
            values[name] = PLACEHOLDERS.get(kind, "hello")
    return values, found


# ---------------------------------------------------------------------------------------------------- scope


def _imports(folder: Path) -> dict[str, str]:
    """Top-level modules the folder's Python files import -> the first file importing each."""
    found: dict[str, str] = {}
    local = {p.stem for p in folder.rglob("*.py")} | {p.name for p in folder.rglob("*") if p.is_dir()}
    for file in folder.rglob("*.py"):
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                found.setdefault(name, file.name)
                top = name.split(".")[0]
                if top not in local:
                    found.setdefault(top, file.name)
    return found


def out_of_scope(case: Case) -> str:
    """What the flow needs that is not reachable offline, or ""."""
    name = case.name.rsplit("/", 1)[-1]
    if ERROR_PATH.search(name):
        return "a prompt flow error-path test (built to fail, hang or be refused)"
    if "/tests/test_configs/" in str(case.path) and name in FIXTURES:
        return "test fixture: " + FIXTURES[name]
    if "aad" in name:
        return "Microsoft Entra ID (AAD) authentication"
    if "assistant" in name:
        return "the OpenAI Assistants API"
    folder = case.path if case.kind != "prompty" else case.path.parent
    text = case.path.read_text(encoding="utf-8", errors="replace") if case.kind == "prompty" else ""
    if case.kind == "dag":
        spec = _load_yaml(case.path / "flow.dag.yaml")
        if str(spec.get("language", "")).lower() in ("csharp", "c#"):
            return "C#"
        for inp in (spec.get("inputs") or {}).values():
            if isinstance(inp, dict) and inp.get("type") == "image":
                return "images"
        nodes = list(spec.get("nodes") or [])
        for variants in (spec.get("node_variants") or {}).values():
            for variant in (variants.get("variants") or {}).values():
                nodes.append(variant.get("node") or {})
        includes = [case.path / str(i) for i in spec.get("additional_includes") or []]
        for node in nodes:
            path = str((node.get("source") or {}).get("path") or "")
            if path and (node.get("source") or {}).get("type", "code") == "code" and not (case.path / path).exists() \
                    and not any((inc / Path(path).name).exists() or inc.name == Path(path).name for inc in includes):
                hint = " (made by its create_symlinks.py)" if (case.path / "create_symlinks.py").exists() else ""
                return f"not runnable as shipped: node source {path!r} is not in the repository{hint}"
        for node in nodes:
            source = node.get("source") or {}
            tool = str(source.get("tool") or node.get("tool") or "")
            if str(source.get("type", "")).startswith("package") and "promptflow.tools.llm" not in tool:
                low = tool.lower()
                for hint, need in OUT_OF_SCOPE_TOOLS.items():
                    if hint in low:
                        return f"{need} (package tool {tool})"
                return f"package tool {tool}"
    elif case.kind == "flex":
        spec_text = case.path.joinpath("flow.flex.yaml").read_text(encoding="utf-8", errors="replace")
        if "csharp" in spec_text.lower() or any(folder.rglob("*.dll")) or any(folder.rglob("*.cs")):
            return "C#"
    else:
        front = _load_yaml_text(text)
        for inp in (front.get("inputs") or {}).values():
            if isinstance(inp, dict) and inp.get("type") == "image":
                return "images"
        if re.search(r"!\[image\]|\{\{\s*image", text):
            return "images"
    imports = _imports(folder) if case.kind != "prompty" else {}
    for module, file in imports.items():
        if "multimedia" in module:
            return f"images ({file} imports {module})"
    return ""


def _load_yaml_text(text: str) -> dict[str, Any]:
    parts = text.split("---")
    if len(parts) < 3:
        return {}
    try:
        data = yaml.safe_load(parts[1])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def missing_package(message: str) -> str:
    match = re.search(r"No module named '([^']+)'", message)
    if match and not match.group(1).startswith(("promptflow", "headrace")):
        return match.group(1)
    return ""


# ---------------------------------------------------------------------------------------------------- connections


def connection_names(cases: list[Case]) -> tuple[set[str], set[str]]:
    """Names LLM nodes use, and names python nodes take (likely custom connections)."""
    llm: set[str] = {"open_ai_connection", "azure_open_ai_connection"}
    custom: set[str] = set()
    for case in cases:
        if case.kind != "dag":
            continue
        spec = _load_yaml(case.path / "flow.dag.yaml")
        nodes = list(spec.get("nodes") or [])
        for variants in (spec.get("node_variants") or {}).values():
            for variant in (variants.get("variants") or {}).values():
                nodes.append(variant.get("node") or {})
        for node in nodes:
            if isinstance(node.get("connection"), str):
                llm.add(node["connection"])
            for key, value in (node.get("inputs") or {}).items():
                if isinstance(value, str) and "conn" in key.lower() and not value.startswith("${"):
                    (llm if re.search(r"open_?ai|aoai|gpt|llm", value, re.I) else custom).add(value)
        for value in (spec.get("environment_variables") or {}).values():
            match = re.match(r"\$\{([\w.-]+)\.\w+\}", str(value))
            if match:
                llm.add(match.group(1))
    return llm, custom - llm


def repo_connections(root: Path) -> dict[str, list[str]]:
    """The custom connections prompt flow's tests define (``dev-connections.json.example``): name -> keys."""
    found: dict[str, list[str]] = {}
    for file in root.glob("src/promptflow*/dev-connections.json.example"):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for name, conn in data.items():
            if isinstance(conn, dict) and conn.get("type") == "CustomConnection":
                found[name] = [k for k in conn.get("value") or {} if not k.startswith("promptflow.")]
    return found


def create_connections(home: Path, url: str, llm: set[str], custom: dict[str, list[str]],
                       env: dict[str, str]) -> None:
    for name in sorted(llm | set(custom)):
        if not re.match(r"^[A-Za-z0-9][\w.-]{0,127}$", name):
            continue
        if name in custom:
            args = ["--type", "custom"]
            for key in custom[name] or ["api_base", "endpoint", "api_key", "key"]:
                if re.search(r"base|endpoint|url", key):
                    args += ["--config", f"{key}={url}"]
                else:
                    args += ["--secret", f"{key}=fake-{key}"]
        elif re.search(r"azure|aoai", name, re.I):
            args = ["--type", "azure_openai", "--base-url", url, "--api-key", "fake-key",
                    "--api-version", "2024-10-21", "--model", "gpt-35-turbo"]
        else:
            args = ["--type", "openai", "--base-url", url + "/v1", "--api-key", "fake-key", "--model", "gpt-4o-mini"]
        subprocess.run([HEADRACE, "connection", "create", name, *args, "--home", str(home), "--replace"],
                       env=env, capture_output=True, check=False, timeout=120)


# ---------------------------------------------------------------------------------------------------- the model
_SCORE = re.compile(r"\b(score|rating|rate|grade)\b", re.I)
_JSON_KEYS = re.compile(r'"(\w+)"\s*:')


def respond(body: dict[str, Any]) -> str | dict[str, Any]:
    """What the fake model answers: like a cooperative model, in the shape the prompt asks for.

    A call offering functions/tools gets a call of the first one (unless it ends with a function's result); a
    prompt asking for JSON gets a JSON object with the keys the prompt shows (``5`` for scores); a prompt
    asking for a score or rating gets ``5``; anything else the fake's usual echo of the last user message."""
    messages = body.get("messages") or []
    text = "\n".join(str(m.get("content") or "") for m in messages)
    last = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
    answered = bool(messages) and messages[-1].get("role") in ("function", "tool")
    functions = body.get("functions") or [t.get("function") or {} for t in body.get("tools") or []]
    if functions and not answered:
        first = functions[0]
        schema = first.get("parameters") or {}
        args = {k: (1 if v.get("type") in ("integer", "number") else "hello")
                for k, v in (schema.get("properties") or {}).items() if k in (schema.get("required") or [])}
        call = {"name": first.get("name", "f"), "arguments": json.dumps(args)}
        if body.get("tools"):
            return {"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": call}]}
        return {"content": None, "function_call": call}
    if (body.get("response_format") or {}).get("type") == "json_object" or "json" in text.lower():
        keys = dict.fromkeys(_JSON_KEYS.findall(text)) or {"answer": None}
        return json.dumps({k: (5 if _SCORE.search(k) or "score" in k.lower() else "echo") for k in keys})
    if _SCORE.search(text):
        return "5"
    return f"echo: {last}"


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
        spec = _load_yaml(case.path / "flow.dag.yaml")
        done = subprocess.run([HEADRACE, "flow", "import-promptflow", str(case.path), "--out", str(slot), "--force"],
                              env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            case.verdict = "failed"
            case.reason = "import: " + _short(_last_lines(done.stdout + done.stderr))
            return
        inputs, _ = sample_inputs(case.path, spec.get("inputs") or {})
        target = slot
    elif case.kind == "flex":
        shutil.copytree(case.path, slot, symlinks=True, dirs_exist_ok=True)
        target = slot
        inputs, found = sample_inputs(case.path, {})
        flex = _load_yaml(case.path / "flow.flex.yaml")
        sample = flex.get("sample") if isinstance(flex.get("sample"), dict) else {}
        call_params, init_params = entry_params(case.path, str(flex.get("entry") or ""))
        if not found:
            inputs = {} if sample.get("inputs") else call_params
        if (case.path / "init.json").exists():
            args += ["--init", str(slot / "init.json")]
        elif init_params and not sample.get("init"):
            file = work / (slot.name + ".init.json")
            file.write_text(json.dumps(init_params), encoding="utf-8")
            args += ["--init", str(file)]
    else:
        target = case.path  # in place: its ${file:...} references may leave its folder
        front = _load_yaml_text(case.path.read_text(encoding="utf-8", errors="replace"))
        sample = front.get("sample")
        if isinstance(sample, str) and sample.startswith("${file:"):
            sample = _first_record(case.path.parent / sample[len("${file:"):-1]) or sample
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
            create_connections(home, fake.url, llm - set(custom), custom, env)
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
