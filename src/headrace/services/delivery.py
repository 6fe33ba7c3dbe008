"""Sending one webhook delivery: SSRF checks, Standard Webhooks signatures, HTTP or Apprise, backoff.

Signatures follow the Standard Webhooks spec: ``webhook-id`` (the delivery's id, the same on every
retry), ``webhook-timestamp`` (seconds, at the attempt), ``webhook-signature`` = ``v1,`` + base64 of
HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed with the secret's base64-decoded bytes.

Addresses: the host is resolved and every address checked; loopback, private, link-local (cloud
metadata included), multicast, reserved and unspecified addresses are refused unless a network of
``allowed_networks`` holds them. Redirects are never followed (a 3xx is a failed attempt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from headrace.errors import EventError

if TYPE_CHECKING:  # imported when a delivery is sent: most processes never send one
    import httpx

__all__ = ["Attempt", "backoff", "check_url", "generate_secret", "max_attempts", "send_http", "sign"]

SECRET_PREFIX = "whsec_"
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


@dataclass(frozen=True)
class Attempt:
    """How one attempt went."""

    ok: bool
    response_code: int | None
    latency_ms: float
    error: str | None = None
    final: bool = False  # retrying cannot help (a refused address)


def generate_secret() -> str:
    """A new signing secret in the Standard Webhooks form, ``whsec_<base64 of 24 random bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def check_secret(secret: str) -> str:
    """Raises: EventError when ``secret`` is not ``whsec_<base64>`` of 24 to 64 bytes."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise EventError("give the secret as whsec_<base64> (Standard Webhooks form), or leave it out to have "
                         "one generated", field="secret")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        raise EventError("the part after whsec_ is not base64", field="secret") from None
    if not 24 <= len(key) <= 64:
        raise EventError(f"the key is {len(key)} bytes; give 24 to 64", field="secret")
    return secret


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _networks(allowed: Sequence[str]) -> list[Any]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in allowed]


def _refusal(address: str, allowed: Sequence[Any]) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip in net for net in allowed if net.version == ip.version):
        return None
    if str(ip) in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for attr, what in (("is_loopback", "loopback"), ("is_link_local", "link-local"), ("is_private", "private"),
                       ("is_multicast", "multicast"), ("is_reserved", "reserved"),
                       ("is_unspecified", "unspecified")):
        if getattr(ip, attr):
            return f"a {what} address"
    return None


def check_url(url: Any, allowed_networks: Sequence[str], *, resolve: bool = True) -> str:
    """Check a webhook URL: http(s), a host, and (with ``resolve``) addresses that are not refused.

    Returns:
        The URL.

    Raises:
        EventError: another scheme, no host, a name that does not resolve, or a refused address (named,
            with the setting that allows it).
    """
    if not isinstance(url, str) or not url.strip():
        raise EventError("give the URL the events are posted to", field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EventError(f"only http and https URLs are accepted, not {parts.scheme or 'no scheme'!r} "
                         "(use apprise_url for chat and mail)", field="url")
    if not parts.hostname:
        raise EventError(f"{url!r} names no host", field="url")
    if resolve:
        for address in resolve_host(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)):
            refused = _refusal(address, _networks(allowed_networks))
            if refused:
                raise EventError(
                    f"{parts.hostname} resolves to {address}, {refused}: refused (against server-side request "
                    "forgery); allow its network with HEADRACE_WEBHOOKS__ALLOWED_NETWORKS", field="url")
    return url


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to. Raises: EventError when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EventError(f"{host} does not resolve: {exc}", field="url") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def send_http(client: httpx.Client, url: str, *, msg_id: str, secret: str, payload: Mapping[str, Any],
              allowed_networks: Sequence[str], timeout: float) -> Attempt:
    """Post one signed message; never raises."""
    import httpx

    started = time.monotonic()
    try:
        check_url(url, allowed_networks)
    except EventError as exc:
        return Attempt(False, None, 0.0, str(exc), final="refused" in str(exc))
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(time.time())
    headers = {"content-type": "application/json", "user-agent": "headrace-webhooks", "webhook-id": msg_id,
               "webhook-timestamp": str(stamp), "webhook-signature": sign(secret, msg_id, stamp, body)}
    try:
        response = client.post(url, content=body, headers=headers, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Attempt(False, None, (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}"[:500])
    latency = (time.monotonic() - started) * 1000
    if 200 <= response.status_code < 300:
        return Attempt(True, response.status_code, latency)
    what = "a redirect (not followed)" if 300 <= response.status_code < 400 else "an error"
    return Attempt(False, response.status_code, latency,
                   f"HTTP {response.status_code}, {what}: {response.text[:200]}")


def backoff(attempts: int, first: float, longest: float) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones (doubling, capped)."""
    return min(first * 2 ** max(attempts - 1, 0), longest)


def max_attempts(window: float, first: float, longest: float) -> int:
    """How many attempts fit in the retry window: the first, then retries until the waits pass ``window``."""
    total, n = 0.0, 1
    while total < window and n < 10_000:
        total += backoff(n, first, longest)
        n += 1
    return n
