"""``headrace datastore register|list|show|unregister|ls`` and ``headrace dataset list|show|files``.

Both work on a local home or, with ``HEADRACE_URL``, on a server. Secrets given to ``datastore register``
(``--account-key``, ``--sas-token``, ``--client-secret``, ``--secret``) may be ``-`` to read them from
standard input, keeping them out of the shell history; they are stored encrypted and never printed.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, console, print_json, workspace
from headrace.errors import ConfigError

datastore_app = typer.Typer(help="Datastores: local folders, Azure Blob, ADLS Gen2 and S3.", no_args_is_help=True)
dataset_app = typer.Typer(help="Registered datasets and their versions.", no_args_is_help=True)

_SECRETS = ("account_key", "sas_token", "client_secret", "secret")


class Kind(str, Enum):
    """The ``--type`` choices of ``datastore register``."""

    LOCAL = "local"
    AZURE_BLOB = "azure_blob"
    ADLS_GEN2 = "adls_gen2"
    S3 = "s3"


def _secret(value: str | None, flag: str) -> str | None:
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise ConfigError(f"{flag} -: expected the secret on standard input, got an empty line")
    return line


def _row(record: Any) -> dict[str, Any]:
    from headrace.services.cloud_datastores import public_options

    return {"name": record.name, "kind": record.kind, "root_uri": record.root_uri,
            "options": public_options(record), "created_at": str(record.created_at)}


@datastore_app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="The datastore's name.")],
    type_: Annotated[Kind, typer.Option("--type", help="local, azure_blob, adls_gen2 or s3.")],
    path: Annotated[str | None, typer.Option("--path", help="local: the folder (relative: under the home).")] = None,
    container: Annotated[str | None, typer.Option("--container", help="azure_blob: the container; adls_gen2: "
                                                                     "the file system.")] = None,
    account_name: Annotated[str | None, typer.Option("--account-name")] = None,
    account_key: Annotated[str | None, typer.Option("--account-key", help="'-': read it from stdin.")] = None,
    sas_token: Annotated[str | None, typer.Option("--sas-token", help="'-': read it from stdin.")] = None,
    tenant_id: Annotated[str | None, typer.Option("--tenant-id")] = None,
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
    client_secret: Annotated[str | None, typer.Option("--client-secret", help="'-': read it from stdin.")] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="Azure: DNS suffix, or the blob endpoint "
                                                                   "URL (emulators).")] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="Azure: https (default) or http.")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="s3: the bucket.")] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="s3: a folder in the bucket.")] = None,
    endpoint_url: Annotated[str | None, typer.Option("--endpoint-url", help="s3: MinIO or another S3 API.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="s3: the access key id.")] = None,
    secret: Annotated[str | None, typer.Option("--secret", help="s3: the secret key; '-': read it from stdin.")] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    create: Annotated[bool, typer.Option("--create", help="Create the bucket or container if missing.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a registration of that name.")] = False,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Register a datastore (cloud ones are reached once, to check them)."""
    ws = workspace(home)
    if type_ is Kind.LOCAL:
        if not path:
            raise ConfigError("a local datastore needs --path")
        ws._backend.register_local_datastore(name, path)
    else:
        fields = {"account_name": account_name, "account_key": _secret(account_key, "--account-key"),
                  "sas_token": _secret(sas_token, "--sas-token"), "tenant_id": tenant_id, "client_id": client_id,
                  "client_secret": _secret(client_secret, "--client-secret"), "endpoint": endpoint,
                  "protocol": protocol, "bucket": bucket, "prefix": prefix, "endpoint_url": endpoint_url, "key": key,
                  "secret": _secret(secret, "--secret"), "region": region}
        if type_ is Kind.AZURE_BLOB:
            fields["container_name"] = container
        elif type_ is Kind.ADLS_GEN2:
            fields["filesystem"] = container
        ws._backend.register_cloud_datastore(name, type_.value, {k: v for k, v in fields.items() if v},
                                             overwrite, create)
    _show(ws, name, json_)


def _show(ws: Any, name: str, json_: bool) -> None:
    row = _row(ws._backend.datastore_record(name))
    if json_:
        print_json(row)
        return
    shown = ", ".join(f"{k}={v}" for k, v in row["options"].items())
    typer.echo(f"{row['name']}: {row['kind']} at {row['root_uri']}" + (f" ({shown})" if shown else ""))


@datastore_app.command("list")
def list_datastores(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List datastores (never their secrets)."""
    backend = workspace(home)._backend
    default = backend.default_datastore_name()
    rows = [_row(r) | {"default": r.name == default} for r in backend.list_datastores()]
    if json_:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="Datastores")
    for col in ("Name", "Kind", "Root", "Sign-in", "Default"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], r["root_uri"], str(r["options"].get("auth", "")),
                      "yes" if r["default"] else "")
    console.print(table)


@datastore_app.command("show")
def show(name: Annotated[str, typer.Argument()], home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Show one datastore's registration (never its secret)."""
    ws = workspace(home)
    ws._backend.datastore(name)  # NotFoundError listing the registered ones
    _show(ws, name, json_)


@datastore_app.command("set-default")
def set_default(name: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Make a datastore the workspace's default: where PipelineData without a datastore goes."""
    workspace(home).set_default_datastore(name)
    typer.echo(f"default datastore is now {name}")


@datastore_app.command("unregister")
def unregister(name: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Remove a registration; the files stay where they are."""
    workspace(home)._backend.unregister_datastore(name)
    typer.echo(f"unregistered datastore {name}")


@datastore_app.command("ls")
def ls(name: Annotated[str, typer.Argument()], prefix: Annotated[str, typer.Argument()] = "",
       home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List a datastore's files under PREFIX, with size and modification time."""
    files = workspace(home)._backend.datastore(name).list(prefix, recursive=True)
    if json_:
        print_json([{"path": f.path, "size": f.size, "modified": str(f.modified)} for f in files])
        return
    for f in files:
        typer.echo(f"{f.size:>12}  {f.modified:%Y-%m-%d %H:%M:%S}  {f.path}" if f.modified else f"{f.size:>12}  {f.path}")


def _dataset_row(d: Any) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "version": d.version, "kind": d._record.kind if d._record else None,
            "files": d._record.file_count if d._record else None, "description": d.description, "tags": d.tags}


@dataset_app.command("list")
def list_datasets(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """The latest version of every registered dataset."""
    from headrace.sdk.dataset import Dataset

    rows = [_dataset_row(d) for d in Dataset.get_all(workspace(home)).values()]
    if json_:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']} v{r['version']}: {r['kind']}, {r['files']} file(s)")


@dataset_app.command("show")
def show_dataset(name: Annotated[str, typer.Argument()],
                 version: Annotated[str, typer.Option("--version", help="A number, or latest.")] = "latest",
                 home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """One dataset version: its definition and size."""
    from headrace.sdk.dataset import Dataset

    d = Dataset.get_by_name(workspace(home), name, version)
    row = {**_dataset_row(d), "definition": d._definition}
    if json_:
        print_json(row)
        return
    typer.echo(f"{row['name']} v{row['version']} ({row['kind']}, {row['files']} file(s)), id {row['id']}")
    for s in d._definition["sources"]:
        typer.echo(f"  path {s.get('datastore')}:{s.get('path')}")


@dataset_app.command("files")
def dataset_files(name: Annotated[str, typer.Argument()],
                  version: Annotated[str, typer.Option("--version", help="A number, or latest.")] = "latest",
                  home: HomeOpt = None) -> None:
    """The files a version is pinned to (each checked against its datastore first)."""
    from headrace.sdk.dataset import Dataset

    for path in Dataset.get_by_name(workspace(home), name, version).to_path():
        typer.echo(path)
