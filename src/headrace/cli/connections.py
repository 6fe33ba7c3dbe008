"""``headrace connection create|list|show|delete``: the LLM connections of the local home.

Keys are stored encrypted (see ``headrace.services.connections``) and never printed. Give a key on stdin
(``--api-key -``) to keep it out of the shell history and the process list.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, console, fmt_time, new_table, print_json, workspace
from headrace.errors import ConfigError

connection_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="LLM connections (OpenAI-compatible APIs) used by prompt flows.",
                             no_args_is_help=True)


class ConnectionType(str, Enum):
    """The ``--type`` choices."""

    OPENAI = "openai"
    AZURE_OPENAI = "azure_openai"
    LOCAL = "local"
    CUSTOM = "custom"


def _services(home: Path | None) -> Any:
    """The services of the local home (connections live in its metadata store, encrypted by its key)."""
    svc = getattr(workspace(home)._backend, "svc", None)
    if svc is None:
        raise ConfigError("connection commands work on a local home: run them on the server's machine with "
                          "--home (or HEADRACE_HOME) pointing at the server's home")
    return svc


def _read_key(value: str | None) -> str | None:
    if value != "-":
        return value
    key = sys.stdin.readline().strip()
    if not key:
        raise ConfigError("--api-key -: expected the key on standard input, got an empty line")
    return key


def _pairs(pairs: list[str], option: str) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {pair!r}: give KEY=VALUE")
        found[key.strip()] = value
    return found


def _show(view: Any) -> None:
    key = "stored (encrypted)" if view.has_api_key else "none"
    typer.echo(f"{view.name}: {view.type} at {view.base_url}; key {key}"
               + (f"; api-version {view.api_version}" if view.api_version else "")
               + (f"; context {view.context_size} tokens" if view.context_size else "")
               + (f"; model {view.model}" if view.model else ""))


@connection_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The name flows use: `connection: NAME`.")],
    type_: Annotated[ConnectionType, typer.Option("--type", help="openai (any OpenAI-compatible chat API), "
                                                  "azure_openai, or local (a llama.cpp server with a base model).")],
    base_url: Annotated[str, typer.Option("--base-url", help="API root, e.g. https://api.openai.com/v1; for Azure "
                                                             "the resource endpoint https://NAME.openai.azure.com "
                                                             "(optional for custom).")] = "",
    api_key: Annotated[str | None, typer.Option("--api-key", help="The key, or '-' to read it from stdin "
                                                                  "(stored encrypted, never printed).")] = None,
    api_version: Annotated[str | None, typer.Option("--api-version", help="Azure's api-version.")] = None,
    context_size: Annotated[int | None, typer.Option("--context-size", min=1,
                                                     help="The model's context window in tokens.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Default model (or Azure deployment).")] = None,
    model_path: Annotated[Path | None, typer.Option("--model-path", help="local: the GGUF file, for exact "
                                                                         "token counts with llama_cpp.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite a connection of that name.")] = False,
    config: Annotated[list[str] | None, typer.Option("--config", help="custom: a KEY=VALUE setting (repeat).")] = None,
    secret: Annotated[list[str] | None, typer.Option("--secret", help="custom: a KEY=VALUE secret, stored encrypted "
                                                                     "(VALUE '-' reads it from stdin; repeat).")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create (or with --replace, overwrite) a connection; its key is stored encrypted."""
    from headrace.services import connections

    extra: dict[str, Any] = {"model_path": str(model_path.resolve())} if model_path else {}
    if config:
        extra["configs"] = _pairs(config, "--config")
    secrets = {k: _read_key(v) or "" for k, v in _pairs(secret or [], "--secret").items()}
    view = connections.create_connection(
        _services(home), name, type=type_.value, base_url=base_url, api_key=_read_key(api_key),
        api_version=api_version, context_size=context_size, model=model, extra=extra, secrets=secrets,
        replace=replace,
    )
    if json_:
        print_json(view.as_dict())
        return
    typer.echo("saved connection:")
    _show(view)


@connection_app.command("list")
def list_connections(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List connections (never their keys)."""
    from headrace.services import connections

    views = connections.list_connections(_services(home))
    if json_:
        print_json([v.as_dict() for v in views])
        return
    table = new_table(title="Connections")
    for col in ("Name", "Type", "Base URL", "Key", "Context", "Model", "Updated"):
        table.add_column(col, no_wrap=col in ("Name", "Base URL"))
    for v in views:
        table.add_row(v.name, v.type, v.base_url, "stored" if v.has_api_key else "-",
                      str(v.context_size or "-"), v.model or "-", fmt_time(v.updated_at))
    console.print(table)


@connection_app.command("show")
def show(name: Annotated[str, typer.Argument(help="The connection's name.")], home: HomeOpt = None,
         json_: JsonOpt = False) -> None:
    """Show one connection (never its key)."""
    from headrace.services import connections

    view = connections.get_connection(_services(home), name)
    if json_:
        print_json(view.as_dict())
        return
    _show(view)


@connection_app.command("delete")
def delete(name: Annotated[str, typer.Argument(help="The connection's name.")], home: HomeOpt = None) -> None:
    """Delete a connection and its stored key."""
    from headrace.services import connections

    connections.delete_connection(_services(home), name)
    typer.echo(f"deleted connection {name!r}")
