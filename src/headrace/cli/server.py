"""``headrace server``: the REST API (FastAPI on uvicorn) with the local agent in the same process."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from headrace.cli.common import HomeOpt, err_console
from headrace.errors import ConfigError

ORPHAN_HELP = (
    "What the agent does with runs whose agent died (e.g. the server was killed): 'requeue' (the server's "
    "default) runs them again from their unfinished steps, so a submission answered 200 is executed even if "
    "the server is killed right after; 'fail' marks them Failed."
)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine reaches the server at (a wildcard bind means loopback)."""
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_config_key(config: Path, key: str, value: str) -> None:
    """Set one key of the home's ``config.json``, keeping the others and the file private (0600)."""
    from headrace.services.homeconfig import set_home_config

    set_home_config(config, **{key: value})


HostOpt = Annotated[str, typer.Option(envvar="HEADRACE_SERVER_HOST", help="Address to bind.")]
PortOpt = Annotated[int, typer.Option(envvar="HEADRACE_SERVER_PORT", help="Port to bind.")]
DbOpt = Annotated[str | None, typer.Option("--db", envvar="HEADRACE_DB_URL", help="Metadata store URL.")]
NoAuthOpt = Annotated[bool, typer.Option("--no-auth", help="Accept calls without a token (loopback only).")]
NoAgentOpt = Annotated[bool, typer.Option("--no-agent", help="No agent in the server: run `headrace agent`.")]
NoSchedulerOpt = Annotated[
    bool, typer.Option("--no-scheduler", help="No scheduler in the server: run `headrace scheduler`.")
]
OrphanOpt = Annotated[str, typer.Option(envvar="HEADRACE_AGENT__ORPHAN_POLICY", help=ORPHAN_HELP)]
PublicUrlOpt = Annotated[
    str | None,
    typer.Option(envvar="HEADRACE_SERVER_PUBLIC_URL", help="URL clients reach the server at (in endpoint URLs)."),
]
MaxBodyOpt = Annotated[
    float, typer.Option(envvar="HEADRACE_SERVER_MAX_BODY_MB", help="Largest JSON body in MiB (413 above).")
]
WorkersOpt = Annotated[
    int, typer.Option(min=1, envvar="HEADRACE_SERVER_WORKERS",
                      help="Server processes (each with its own agent); more than 1 uses more cores.")
]
AllowedHostsOpt = Annotated[
    list[str] | None,
    typer.Option("--allowed-host", envvar="HEADRACE_SERVER_ALLOWED_HOSTS",
                 help="A Host name the server answers besides loopback ones (repeat; *.example.org for its "
                      "subdomains). Default: any with auth, loopback only with --no-auth."),
]
ListenOpt = Annotated[bool, typer.Option(
    help="With an agent, serve the home's scripts on a local socket (<home>/agent.sock): their Workspace(home) "
    "hands runs to the server's agent instead of starting one.")]
LogLevelOpt = Annotated[str, typer.Option(help="uvicorn log level: warning, info (each request), debug.")]


def server(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    home: HomeOpt = None,
    db: DbOpt = None,
    no_auth: NoAuthOpt = False,
    no_agent: NoAgentOpt = False,
    no_scheduler: NoSchedulerOpt = False,
    orphan_policy: OrphanOpt = "requeue",
    public_url: PublicUrlOpt = None,
    max_body_mb: MaxBodyOpt = 10.0,
    log_level: LogLevelOpt = "warning",
    workers: WorkersOpt = 1,
    allowed_host: AllowedHostsOpt = None,
    listen: ListenOpt = True,
) -> None:
    """Serve the REST API under /api/v1 (OpenAPI at /openapi.json), run the local agent and the scheduler.

    On a new home an admin token is created and written to <home>/config.json (key "token", mode 0600), and the server's URL under "server_url". Binding a non-loopback address with --no-auth is refused.

    A run whose agent died (the server was killed) is re-queued when the server starts again (--orphan-policy requeue, the default here), so every submission answered 200 gets executed; its finished steps are kept and unfinished ones run again.
    """
    import uvicorn

    from headrace.config import load_settings
    from headrace.server.app import MiB, create_app
    from headrace.server.http_protocol import HTTP_PROTOCOL
    from headrace.services import tokens
    from headrace.services.resident import ResidentListener
    from headrace.wiring import build_agent, build_dispatcher, build_scheduler, build_services

    if no_auth and not is_loopback(host):
        raise ConfigError(
            f"refusing to serve without authentication on {host!r}, which other machines can reach: "
            "bind to 127.0.0.1 (--host 127.0.0.1) or drop --no-auth"
        )
    if orphan_policy not in ("requeue", "fail"):
        raise ConfigError(f"invalid --orphan-policy {orphan_policy!r}: choose requeue or fail")
    settings = load_settings(home=home, db_url=db)
    svc = build_services(settings)
    config = settings.home / "config.json"
    if tokens.ensure_admin_token(svc, config):
        err_console.print(f"created an admin token: it is in {config} (key \"token\", readable by you only)")
    url = (public_url or local_url(host, port)).rstrip("/")
    write_config_key(config, "server_url", url)
    err_console.print(f"headrace server on {url}/api/v1 (home {settings.home}, "
                      f"{'no agent' if no_agent else 'agent in process'}"
                      f"{', no scheduler' if no_scheduler else ', scheduler in process'}{', NO AUTH' if no_auth else ''}"
                      f"{f', {workers} workers' if workers > 1 else ''}); Ctrl+C stops")
    if workers > 1:
        # Each worker process builds its own services and agent (claims are atomic across them).
        import json as _json

        from headrace.server.factory import OPTIONS_ENV

        svc.store.close()
        os.environ[OPTIONS_ENV] = _json.dumps({
            "home": str(settings.home), "db": settings.db_url, "no_agent": no_agent, "orphan_policy": orphan_policy,
            "no_scheduler": no_scheduler, "listen": listen,
            "auth": not no_auth, "public_url": public_url, "max_body_bytes": int(max_body_mb * MiB),
            "allowed_hosts": allowed_host, "local_secret": secrets.token_urlsafe(32)})
        uvicorn.run("headrace.server.factory:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, timeout_graceful_shutdown=15, http=HTTP_PROTOCOL)
        return
    agent = None if no_agent else build_agent(svc, orphan_policy=orphan_policy)
    listener = ResidentListener(svc, settings.db_url, settings.effective_db_url, agent) if agent and listen else None
    # Without --public-url, endpoint URLs follow the address each request came to.
    scheduler = None if no_scheduler else build_scheduler(svc)
    # The events dispatcher (webhooks, notifications, event triggers) is a background daemon like the scheduler.
    dispatcher = None if no_scheduler else build_dispatcher(svc, base_url=url)
    app = create_app(svc, auth=not no_auth, public_url=public_url, agent=agent, scheduler=scheduler,
                     dispatcher=dispatcher, max_body_bytes=int(max_body_mb * MiB), allowed_hosts=allowed_host,
                     listener=listener)
    try:
        # Requests offering "Upgrade: h2c" (Java's HttpClient) are answered in HTTP/1.1 (server.http_protocol).
        uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=15, http=HTTP_PROTOCOL)
    finally:
        svc.store.close()
