"""Browser sessions for the web UI: a token kept in an HttpOnly, SameSite=Strict cookie, and CSRF.

The cookie holds the API token the person signed in with, so the UI and the REST API share one
authority: revoking the token signs the browser out. Every form carries a CSRF value derived from
the token (HMAC), which a page from another site cannot read or compute; without auth, from a secret
drawn at random when the app is built. The sign-in form, posted
before any session exists, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from headrace.services import tokens
from headrace.storage.records import Role, TokenRecord

SESSION_COOKIE = "headrace_session"
SIGNIN_CSRF_COOKIE = "headrace_signin_csrf"


class Viewer:
    """Who is looking: a token's name and role (an admin without a token when auth is off)."""

    def __init__(self, token: TokenRecord | None, secret: str | None):
        self.token = token
        self.name = token.name if token else "local"
        self.role = token.role if token else Role.ADMIN
        self._secret = secret or ""

    def can(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    @property
    def csrf(self) -> str:
        return csrf_for(self._secret)


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"headrace-ui-csrf", hashlib.sha256).hexdigest()[:32]


def viewer(request: Request) -> Viewer | None:
    """The signed-in viewer, or None (no valid session)."""
    if not request.app.state.auth:
        return Viewer(None, request.app.state.local_csrf_secret)
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    token = tokens.authenticate(request.app.state.services, secret)
    return Viewer(token, secret) if token else None


def check_csrf(request_value: str | None, expected: str) -> bool:
    return bool(request_value) and hmac.compare_digest(str(request_value), expected)


def new_signin_csrf() -> str:
    return secrets.token_urlsafe(24)


def cookie_options(request: Request) -> dict:
    return {"httponly": True, "samesite": "strict", "secure": request.url.scheme == "https", "path": "/"}
