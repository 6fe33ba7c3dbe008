"""``headrace token create|list|revoke``: API tokens of the local home, whether or not a server runs."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, console, fmt_time, new_table, print_json, workspace
from headrace.errors import ConfigError

if TYPE_CHECKING:
    from headrace.storage.records import TokenRecord

token_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="API tokens (reader, submitter, admin) of the local home.", no_args_is_help=True)


class RoleChoice(str, Enum):
    """The ``--role`` choices: ``storage.records.Role``'s values (a test keeps them equal), declared here so
    that building the CLI does not import the storage records."""

    READER = "reader"
    SUBMITTER = "submitter"
    ADMIN = "admin"


def _services(home: Any) -> Any:
    """The services of the local home (tokens live in its metadata store)."""
    backend = workspace(home)._backend
    svc = getattr(backend, "svc", None)
    if svc is None:
        raise ConfigError("token commands work on a local home: run them on the server's machine with "
                          "--home (or HEADRACE_HOME) pointing at the server's home")
    return svc


def _row(record: TokenRecord) -> dict[str, Any]:
    return {"id": record.id, "name": record.name, "role": record.role.value, "created": record.created_at,
            "revoked": record.revoked_at, "last_used": record.last_used_at}


@token_app.command("create")
def create(
    role: Annotated[RoleChoice, typer.Option("--role", help="reader: read; submitter: read and submit; admin: everything.")],
    name: Annotated[str | None, typer.Option("--name", help="A name to recognise (and revoke) it by.")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create a token and print it once, alone on the last line (only its hash is stored)."""
    from headrace.services import tokens
    from headrace.storage.records import Role

    secret, record = tokens.create_token(_services(home), Role(role.value), name)
    if json_:
        print_json({"token": secret, **_row(record)})
        return
    typer.echo(f"created token {record.id} ({record.name!r}, role {record.role.value}); "
               "copy it now, it cannot be shown again:")
    typer.echo(secret)


@token_app.command("list")
def list_tokens(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List tokens (never their secrets), revoked ones included."""
    from headrace.services import tokens

    records = tokens.list_tokens(_services(home))
    if json_:
        print_json([_row(r) for r in records])
        return
    table = new_table(title="Tokens")
    for col in ("Id", "Name", "Role", "Created", "Revoked"):
        table.add_column(col, no_wrap=col == "Id")
    for r in records:
        table.add_row(r.id, r.name, r.role.value, fmt_time(r.created_at), fmt_time(r.revoked_at))
    console.print(table)


@token_app.command("revoke")
def revoke(token: Annotated[str, typer.Argument(help="The token's id or name.")], home: HomeOpt = None) -> None:
    """Revoke a token: calls with it get 401 from then on."""
    from headrace.services import tokens

    record = tokens.revoke_token(_services(home), token)
    typer.echo(f"revoked token {record.id} ({record.name!r}); running servers refuse it within "
               "HEADRACE_CACHE_SECONDS (1 s by default)")
