"""The flows of the prompt flow corpus (see ``promptflow_corpus.py``): finding them, the inputs of one line, and
whether a flow is in scope offline."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # a broken file is the run's verdict to give, not discovery's
        return {}
    return data if isinstance(data, dict) else {}


def first_record(path: Path) -> dict[str, Any] | None:
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
        record = first_record(folder / name)
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
        spec = load_yaml(case.path / "flow.dag.yaml")
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
        front = load_yaml_text(text)
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


def load_yaml_text(text: str) -> dict[str, Any]:
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
