"""``headrace flow test``: run a prompt flow once and show what each node did.

LLM nodes call the connections stored in the local home (``headrace connection create``), or those defined
by ``HEADRACE_CONNECTION_<NAME>_*`` environment variables.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.common import (
    HomeOpt,
    JsonOpt,
    console,
    err_console,
    new_table,
    print_json,
    stdout_to_stderr,
)
from headrace.cli.flow_batch import VariantOpt
from headrace.errors import FlowInputError

flow_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="Prompt flows: test, serve, publish, batch-run and evaluate flow folders; import prompt flow DAGs.", no_args_is_help=True)

_STYLE = {"Completed": "green", "Failed": "red", "Bypassed": "dim", "Running": "cyan"}


def parse_inputs(pairs: list[str], inputs_file: Path | None = None) -> dict[str, Any]:
    """``["k=v", ...]`` (and a JSON file's object under them) -> the raw inputs; values stay text.

    Raises:
        FlowInputError: a pair without ``=``, or a file that is not a JSON object.
    """
    values: dict[str, Any] = {}
    if inputs_file is not None:
        try:
            loaded = json.loads(inputs_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise FlowInputError(f"--inputs-file {inputs_file}: cannot read a JSON object ({exc})") from None
        if not isinstance(loaded, dict):
            raise FlowInputError(f"--inputs-file {inputs_file}: expected a JSON object of input -> value")
        values.update(loaded)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise FlowInputError(f"{pair!r} is not NAME=VALUE (e.g. --inputs question='What is a headrace?')")
        values[name.strip()] = value
    return values


def _llm_runner(home: Path | None) -> Any:
    """The runner over the home's stored connections (plus ``HEADRACE_CONNECTION_*`` overrides)."""
    from headrace.config import load_settings
    from headrace.services.connections import llm_runner
    from headrace.wiring import build_services

    return llm_runner(build_services(load_settings(home=home)))


@flow_app.command("test")
def test(
    folder: Annotated[Path, typer.Argument(help="The flow folder (with flow.yaml), or a .prompty file.",
                                           exists=True)],
    extra: Annotated[list[str] | None, typer.Argument(help="More NAME=VALUE inputs.", show_default=False)] = None,
    inputs: Annotated[list[str] | None, typer.Option(
        "--inputs", "-i", help="An input as NAME=VALUE (repeat it, or list several after it).",
        show_default=False)] = None,
    inputs_file: Annotated[Path | None, typer.Option(
        "--inputs-file", help="A JSON object of inputs (NAME=VALUE pairs override it).", exists=True,
        dir_okay=False)] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print the chat output as it streams.")] = False,
    timeout: Annotated[float | None, typer.Option(help="Fail the line after this many seconds.")] = None,
    init: Annotated[Path | None, typer.Option(
        "--init", help="Flex flows: a JSON object of the entry class's __init__ arguments.", exists=True,
        dir_okay=False)] = None,
    variant: VariantOpt = None,
    json_out: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Run the flow once with the given inputs; show each node's status, time and output.

    Exits 1 when a node fails, naming it. Values are text converted by each input's type
    (``max_urls=2``, ``flag=true``, ``history='[...]'``).
    """
    import asyncio

    from headrace.flows.batch import needs_llm
    from headrace.flows.executor import load_flow
    from headrace.flows.flex import is_flex

    if folder.is_dir() and is_flex(folder):
        _test_flex(folder, parse_inputs([*(inputs or []), *(extra or [])], inputs_file), init, json_out, home)
        return
    if folder.suffix == ".prompty":
        _test_prompty(folder, parse_inputs([*(inputs or []), *(extra or [])], inputs_file), json_out, home)
        return
    with stdout_to_stderr(json_out):  # a tool's print() must not corrupt the JSON document
        flow = load_flow(folder, variant=variant)
        raw = parse_inputs([*(inputs or []), *(extra or [])], inputs_file)
        llm = _llm_runner(home) if needs_llm(flow.spec) and not flow.spec.lenient else _LazyRunner(home)
        result, streamed = asyncio.run(_run(flow, raw, llm, stream and not json_out, timeout))
    if json_out:
        data = result.to_dict()
        print_json(data)
        if result.error is not None:
            sys.exit(1)  # not typer.Exit: its code is lost when the app runs with standalone_mode=False
        return
    from rich.json import JSON

    _table(result)
    skipped = [n.name for n in flow.spec.nodes if n.aggregation]
    if skipped:
        console.print(f"[dim]aggregation nodes run once per batch, not here: {', '.join(skipped)}[/dim]")
    outputs = {k: v for k, v in result.outputs.items() if k not in streamed}
    if result.error is None:
        console.print("[bold]outputs[/bold]")
        console.print(JSON(json.dumps(outputs, default=repr, ensure_ascii=False), indent=2))
        for name, text in streamed.items():
            console.print(f"[bold]{name}[/bold] (streamed): {len(text)} characters")
        return
    raise result.error


class _LazyRunner:
    """The home's runner, opened only when a node calls a model or asks for a connection: an imported flow
    whose tools never do so runs without touching (or creating) the home."""

    def __init__(self, home: Path | None):
        self._home, self._runner = home, None

    def _get(self) -> Any:
        if self._runner is None:
            self._runner = _llm_runner(self._home)
        return self._runner

    async def run(self, call: Any) -> Any:
        return await self._get().run(call)

    def connection(self, name: str) -> Any:
        return self._get().connection(name)


def _test_flex(folder: Path, raw: dict[str, Any], init: Path | None, json_out: bool,
               home: Path | None = None) -> None:
    """Run a flex flow (``flow.flex.yaml``) once (no inputs: its sample's) and print the output."""
    from headrace.flows.flex import load_flex

    init_args = parse_inputs([], init) if init is not None else None
    quiet = contextlib.redirect_stdout(sys.stderr) if json_out else contextlib.nullcontext()
    with quiet:
        flow = load_flex(folder, init_args, connect=lambda name: _llm_runner(home).connection(name))
        output = flow(**(raw or flow.sample))
    if json_out:
        print_json({"status": "Completed", "output": output})
        return
    from rich.json import JSON

    console.print(output if isinstance(output, str) else JSON(json.dumps(output, default=repr), indent=2))


def _test_prompty(path: Path, raw: dict[str, Any], json_out: bool, home: Path | None) -> None:
    """Run a ``.prompty`` file once (no inputs: its ``sample``) and print the answer."""
    from headrace.flows.prompty import load_prompty

    prompty = load_prompty(path, lookup=lambda name: _llm_runner(home).connection(name))
    answer = prompty(**(raw or prompty.sample))
    if hasattr(answer, "__next__"):  # stream: true gives chunks
        answer = "".join(answer)
    if json_out:
        print_json({"status": "Completed", "output": answer})
        return
    from rich.json import JSON

    console.print(f"[bold]{prompty.name}[/bold]")
    console.print(answer if isinstance(answer, str) else JSON(json.dumps(answer, default=repr), indent=2))


async def _run(flow: Any, raw: dict[str, Any], llm: Any, stream: bool,
               timeout: float | None) -> tuple[Any, dict[str, str]]:
    result = await flow.arun(raw, llm=llm, stream=stream, timeout=timeout)
    streamed: dict[str, str] = {}
    for name, value in result.outputs.items():
        if hasattr(value, "__aiter__"):
            err_console.print(f"[bold]{name}[/bold] (streaming):")
            parts = []
            async for chunk in value:
                parts.append(chunk)
                sys.stdout.write(chunk)
                sys.stdout.flush()
            sys.stdout.write("\n")
            streamed[name] = "".join(parts)
            result.outputs[name] = streamed[name]
    return result, streamed


def _table(result: Any) -> None:
    table = new_table(title=f"flow test: {result.status}", title_justify="left")
    for column in ("node", "type", "status", "time", "output"):
        table.add_column(column, overflow="fold" if column == "output" else "ellipsis")
    for trace in result.nodes.values():
        _rows(table, trace, 0)
    console.print(table)


def _rows(table: Any, trace: Any, depth: int) -> None:
    style = _STYLE.get(trace.status, "")
    status = f"[{style}]{trace.status}[/{style}]" if style else trace.status
    took = f"{trace.latency_ms / 1000:.2f}s" if trace.latency_ms is not None else "-"
    shown = trace.error if trace.status == "Failed" else _short(trace.output)
    if trace.llm and trace.llm.get("prompt_tokens") is not None:
        took += f" ({trace.llm['prompt_tokens']}+{trace.llm.get('completion_tokens', 0)} tok)"
    table.add_row("  " * depth + trace.name, trace.type, status, took, shown, end_section=False)
    for child in trace.children:
        _rows(table, child, depth + 1)


def _short(value: Any, limit: int = 160) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _register_import() -> None:
    """``headrace flow import-promptflow``: the example area's command, under this group."""
    from headrace.cli.flow_import import import_promptflow

    flow_app.command("import-promptflow")(import_promptflow)


_register_import()


def _register_serving() -> None:
    """``headrace flow serve|publish|list-published``: the serving area's commands, under this group."""
    from headrace.cli.flow_serve import list_published, publish, serve

    flow_app.command("serve")(serve)
    flow_app.command("publish")(publish)
    flow_app.command("list-published")(list_published)


_register_serving()


def _register_batch() -> None:
    """``headrace flow run`` and ``headrace flow eval``: batch and evaluation runs, tracked as pipeline runs."""
    from headrace.cli.flow_batch import register

    register(flow_app)


_register_batch()
