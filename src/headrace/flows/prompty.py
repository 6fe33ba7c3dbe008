"""Prompty files (``.prompty``): YAML front matter (model, inputs, outputs, sample) and a Jinja chat template.

``load_prompty(path)`` reads one; calling it renders the template with the inputs (defaults filled in,
undefined variables empty as in prompt flow), calls the chat API once and shapes the answer as prompt
flow's Prompty does:

- ``model.configuration`` picks the endpoint: ``connection: NAME`` (a headrace connection), else
  ``type: azure_openai`` (``azure_endpoint``, ``api_key``, ``api_version``; ``AZURE_OPENAI_ENDPOINT`` /
  ``AZURE_OPENAI_API_KEY`` when absent) or ``type: openai`` (``base_url``, ``api_key``; ``OPENAI_BASE_URL`` /
  ``OPENAI_API_KEY``). ``${env:NAME}`` and ``${file:path}`` (relative to the file; JSON files are parsed)
  are resolved anywhere in the front matter.
- ``model.parameters`` are typed and sent as an llm node's are (``headrace.flows.llm_params``).
- ``model.response: first`` (default) gives the first choice's text (its message when it calls a function
  or tool), ``all`` the first choice's whole message; ``response_format: {type: json_object}`` parses the
  text, and declared ``outputs`` then keep only their keys (a missing one is an error). ``stream: true``
  gives an iterator of text chunks (one chunk: the answer is read whole).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from headrace.errors import FlowDefinitionError, FlowError, FlowInputError
from headrace.flows.connections import Connection
from headrace.flows.llm import LLMClient
from headrace.flows.llm_params import api_params, wants_message
from headrace.flows.templates import render_chat
from headrace.flows.values import TYPES, convert

__all__ = ["Prompty", "load_prompty"]

_FRONT = re.compile(r"\A\s*---\s*\n(.*?)\n---\s*\n(.*)\Z", re.DOTALL)
_REF = re.compile(r"^\$\{(env|file):(.+)\}$")


def load_prompty(path: str | Path, *, lookup: Callable[[str], Connection] | None = None,
                 environ: Mapping[str, str] | None = None, model: Mapping[str, Any] | None = None) -> Prompty:
    """Read a ``.prompty`` file.

    Args:
        path: the file.
        lookup: finds a headrace connection by name (for ``configuration.connection``).
        environ: where ``${env:...}`` and the default endpoints are read (default ``os.environ``).
        model: overrides of the front matter's ``model``: a ``configuration`` (a mapping or a dataclass such
            as a model configuration) replaces it, ``parameters`` are merged in.

    Raises:
        FlowDefinitionError: not a prompty file (no front matter, bad YAML, unknown input types).
    """
    file = Path(path).resolve()
    text = file.read_text(encoding="utf-8")
    match = _FRONT.match(text)
    if not match:
        raise FlowDefinitionError(["no front matter: a .prompty file starts with a YAML block between --- lines"],
                                  flow=str(file))
    try:
        front = yaml.safe_load(match[1]) or {}
    except yaml.YAMLError as exc:
        raise FlowDefinitionError([f"front matter is not valid YAML: {exc}"], flow=str(file)) from exc
    if not isinstance(front, dict):
        raise FlowDefinitionError(["the front matter must be a mapping"], flow=str(file))
    env = os.environ if environ is None else environ
    if model:
        front["model"] = _override(dict(front.get("model") or {}), model)
    return Prompty(file, _resolve(front, file.parent, env), match[2], lookup=lookup, environ=env)


def _override(base: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    conf = given.get("configuration")
    if dataclasses.is_dataclass(conf) and not isinstance(conf, type):
        conf = {k: v for k, v in dataclasses.asdict(conf).items() if v is not None}
    if conf:
        base["configuration"] = dict(conf)
    if given.get("parameters"):
        base["parameters"] = {**(base.get("parameters") or {}), **given["parameters"]}
    for key in set(given) - {"configuration", "parameters"}:
        base[key] = given[key]
    return base


def _resolve(value: Any, folder: Path, environ: Mapping[str, str]) -> Any:
    """``${env:NAME}`` and ``${file:path}`` references resolved, everywhere in the front matter."""
    if isinstance(value, dict):
        return {k: _resolve(v, folder, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, folder, environ) for v in value]
    match = _REF.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return value
    if match[1] == "env":
        return environ.get(match[2].strip(), "")
    target = folder / match[2].strip()
    text = target.read_text(encoding="utf-8")
    return json.loads(text) if target.suffix == ".json" else text


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", name).lstrip("_.-") or "prompty"


class Prompty:
    """A loaded prompty: call it with its inputs (``prompty(question="...")``), or ``await prompty.arun({...})``.

    Attributes:
        path: the file.
        front: the front matter (references resolved).
        template: the chat template (the text after the front matter).
    """

    def __init__(self, path: Path, front: dict[str, Any], template: str, *,
                 lookup: Callable[[str], Connection] | None = None, environ: Mapping[str, str] = os.environ):
        self.path, self.front, self.template = path, front, template
        self.lookup, self.environ = lookup, environ
        model = front.get("model") or {}
        self.configuration: dict[str, Any] = dict(model.get("configuration") or {})
        self.parameters: dict[str, Any] = dict(model.get("parameters") or {})
        # prompt flow's first Prompty format: `connection` beside `parameters`, the model among the parameters.
        if model.get("connection") and not self.configuration:
            self.configuration["connection"] = model["connection"]
        for key, conf_key in (("deployment_name", "azure_deployment"), ("model", "model")):
            if key in self.parameters:
                self.configuration.setdefault(conf_key, self.parameters.pop(key))
        self.response = str(model.get("response") or "first")
        self.inputs: dict[str, Any] = {str(k): (v if isinstance(v, dict) else {"default": v})
                                       for k, v in (front.get("inputs") or {}).items()}
        self.outputs: dict[str, Any] = dict(front.get("outputs") or {})
        sample = front.get("sample")
        if isinstance(sample, str) and sample.endswith((".json", ".jsonl")) and (path.parent / sample).is_file():
            sample = _sample_file(path.parent / sample)  # a bare file name, as prompt flow accepts too
        self.sample: dict[str, Any] = sample if isinstance(sample, dict) else {}
        bad = [f"input {n!r}: type {i.get('type')!r} is not one of {', '.join(TYPES)}"
               for n, i in self.inputs.items() if i.get("type", "string") not in TYPES]
        if bad:
            raise FlowDefinitionError(bad, flow=str(path))

    @property
    def name(self) -> str:
        return str(self.front.get("name") or self.path.stem)

    def coerce(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The template's variables: each declared input converted by type, defaults filled in.

        Raises:
            FlowInputError: a declared input without a default is missing, or a value does not fit.
        """
        values = dict(given)
        for name, spec in self.inputs.items():
            if values.get(name) is None:
                if "default" not in spec:
                    raise FlowInputError(f"missing; {self.path.name} declares it without a default", input=name)
                values[name] = spec["default"]
                continue
            try:
                values[name] = convert(spec.get("type", "string"), values[name])
            except ValueError as exc:
                raise FlowInputError(str(exc), input=name) from None
        return values

    def connection(self) -> Connection:
        """The endpoint to call, from ``model.configuration`` (see the module docstring)."""
        conf, env = self.configuration, self.environ
        if conf.get("connection"):
            if self.lookup is None:
                raise FlowError(f"{self.path.name}: configuration.connection {conf['connection']!r} needs the "
                                "workspace's connections (run it with the headrace CLI)")
            return self.lookup(str(conf["connection"]))
        if conf.get("type", "azure_openai") == "azure_openai":
            return Connection(_slug(self.path.stem), "azure_openai", conf.get("azure_endpoint") or env.get("AZURE_OPENAI_ENDPOINT", ""),
                              conf.get("api_key") or env.get("AZURE_OPENAI_API_KEY", ""),
                              api_version=conf.get("api_version") or env.get("OPENAI_API_VERSION") or "2024-02-01",
                              ).validate()
        return Connection(_slug(self.path.stem), "openai", conf.get("base_url") or env.get("OPENAI_BASE_URL")
                          or "https://api.openai.com/v1", conf.get("api_key") or env.get("OPENAI_API_KEY", "")).validate()

    async def arun(self, inputs: Mapping[str, Any] | None = None, *, stream: bool = False) -> Any:
        """Render, call and shape the answer (see the module docstring). With ``stream`` (a served flow
        asked for an event stream), a plain text answer comes as an async iterator of its chunks.

        Raises:
            FlowInputError: bad inputs. FlowError: the call failed or the answer is not the JSON asked for.
        """
        variables = self.coerce(inputs or {})
        messages = [m.to_dict() for m in render_chat(self.template, variables, origin=self.path.name, strict=False)]
        conn = self.connection()
        model = self.configuration.get("azure_deployment") or self.configuration.get("model") or conn.model or ""
        params = api_params({k: v for k, v in self.parameters.items() if k != "stream"}, self.name)
        client = LLMClient(conn, node=self.name)
        if stream and self.response != "all" and not wants_message(params) \
                and (params.get("response_format") or {}).get("type") != "json_object":
            return await client.chat_stream(messages, str(model), params)
        done = await client.chat(messages, str(model), params)
        if self.response == "all" or wants_message(params) or done.finish_reason in ("tool_calls", "function_call"):
            return done.message
        if (params.get("response_format") or {}).get("type") != "json_object":
            return iter([done.text]) if self.parameters.get("stream") else done.text
        try:
            answer = json.loads(done.text)
        except json.JSONDecodeError as exc:
            raise FlowError(f"{self.path.name}: the model's answer is not JSON ({exc.msg}): {done.text[:200]!r}") from exc
        if self.outputs and isinstance(answer, dict):
            missing = [k for k in self.outputs if k not in answer]
            if missing:
                raise FlowError(f"{self.path.name}: the answer has no {', '.join(missing)} (it has: "
                                f"{', '.join(answer) or 'nothing'})")
            return {k: answer[k] for k in self.outputs}
        return answer

    def estimate_token_count(self, **inputs: Any) -> int:
        """Tokens of the rendered prompt plus ``max_tokens`` (what the call may use)."""
        from headrace.flows.budget import count_tokens

        messages = render_chat(self.template, self.coerce(inputs), origin=self.path.name, strict=False)
        model = self.configuration.get("azure_deployment") or self.configuration.get("model")
        prompt = count_tokens(messages, str(model) if model else None)
        return prompt + int(self.parameters.get("max_tokens") or 0)

    def __call__(self, **inputs: Any) -> Any:
        """Run it synchronously, also from code that runs inside an event loop (an async flex flow)."""
        import asyncio
        import concurrent.futures

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(inputs))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self.arun(inputs)).result()


def _sample_file(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        text = next((line for line in text.splitlines() if line.strip()), "{}")
    try:
        return json.loads(text)
    except ValueError:
        return None
