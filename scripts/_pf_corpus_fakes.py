"""The fakes the prompt flow corpus runs against (see ``promptflow_corpus.py``): the connections the flows
name, all pointing at the fake model, and what the fake model answers."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from _pf_corpus_cases import Case, load_yaml

# ---------------------------------------------------------------------------------------------------- connections


def connection_names(cases: list[Case]) -> tuple[set[str], set[str]]:
    """Names LLM nodes use, and names python nodes take (likely custom connections)."""
    llm: set[str] = {"open_ai_connection", "azure_open_ai_connection"}
    custom: set[str] = set()
    for case in cases:
        if case.kind != "dag":
            continue
        spec = load_yaml(case.path / "flow.dag.yaml")
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


def create_connections(headrace: str, home: Path, url: str, llm: set[str], custom: dict[str, list[str]],
                       env: dict[str, str]) -> None:
    """Create every connection the flows name in ``home`` with the ``headrace`` CLI, all pointing at ``url``."""
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
        subprocess.run([headrace, "connection", "create", name, *args, "--home", str(home), "--replace"],
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
