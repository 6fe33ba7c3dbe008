"""Who may talk to the server from a browser: the ``Host`` names it answers and, without auth, which
origins may change things.

Without a token (``--no-auth``) any web page the person opens could otherwise drive the server: a page
posting cross-origin (browsers send such "simple" requests without asking), or a DNS name the page's
owner rebinds to 127.0.0.1 (then the browser counts the server as the page's own origin). So with auth
off only loopback ``Host`` names (plus ``allowed_hosts``) are served, and a state-changing request
whose ``Origin`` is not the server's own is refused. With auth on, a page cannot attach the bearer
token, and ``allowed_hosts``, when given, still limits the names served.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from headrace.server.errors import error_response
from headrace.server.middleware import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "*.localhost", "127.0.0.1", "::1")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HostGuardMiddleware:
    """Refuse requests to other ``Host`` names (400) and, with ``local_only``, cross-origin changes (403).

    Args:
        allowed_hosts: names served besides loopback ones; ``*.example.org`` matches its subdomains, ``*``
            any name. None: any name when not ``local_only``.
        local_only: auth is off: loopback names only, and no cross-origin state changes.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] | None, local_only: bool):
        self.app = app
        self.local_only = local_only
        hosts = [h.strip().lower() for h in allowed_hosts or () if h.strip()]
        self.patterns: tuple[str, ...] | None = (
            (*LOOPBACK_NAMES, *hosts) if (hosts or local_only) and "*" not in hosts else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        if self.patterns is not None and not _matches(_hostname(host), self.patterns):
            name = _hostname(host) or "(none)"
            response = error_response(
                400, "HostNotAllowed",
                f"this server does not answer to the host name {name!r} (Host header): it answers "
                f"{', '.join(self.patterns)}; add a name with --allowed-host (HEADRACE_SERVER_ALLOWED_HOSTS)",
                target="Host", path=scope.get("path", ""))
            await response(scope, receive, send)
            return
        if self.local_only and scope["type"] == "http" and scope["method"] not in _SAFE_METHODS:
            problem = _cross_origin(headers, scope.get("scheme", "http"), host)
            if problem:
                response = error_response(
                    403, "CrossOriginRefused",
                    f"refused a request from another site ({problem}): a server without authentication "
                    "only takes changes from its own pages and from clients that send no Origin header",
                    target="Origin", path=scope["path"])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    wanted = (b"host", b"origin", b"sec-fetch-site")
    return {k.decode(): v.decode("latin-1").strip() for k, v in scope.get("headers", []) if k in wanted}


def _hostname(host: str) -> str:
    """``Host`` without its port, lower case, IPv6 brackets removed."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _matches(name: str, patterns: Iterable[str]) -> bool:
    if not name:
        return False
    for pattern in patterns:
        if pattern.startswith("*.") and name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
            return True
        if name == pattern:
            return True
    return _is_loopback_ip(name) and "127.0.0.1" in patterns


def _is_loopback_ip(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _cross_origin(headers: dict[str, str], scheme: str, host: str) -> str | None:
    """What makes the request cross-origin, or None."""
    origin = headers.get("origin")
    if origin is not None:
        if origin.lower().rstrip("/") != f"{scheme}://{host}".lower():
            return f"Origin {origin[:200]!r} is not {scheme}://{host}"
        return None
    site = headers.get("sec-fetch-site", "").lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site: {site}"
    return None
