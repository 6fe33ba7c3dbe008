"""API tokens: created once (the secret is shown once), kept as a sha256, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from pathlib import Path

from headrace import clock
from headrace.errors import ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.homeconfig import read_home_config, set_home_config
from headrace.storage.records import Role, TokenRecord

PREFIX = "hr_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_role(role: str | Role) -> Role:
    """Raises: ConfigError naming the valid roles."""
    try:
        return role if isinstance(role, Role) else Role(str(role).lower())
    except ValueError:
        raise ConfigError(f"unknown role {role!r}: choose reader, submitter or admin") from None


def create_token(svc: Services, role: str | Role, name: str | None = None) -> tuple[str, TokenRecord]:
    """Create a token; returns (secret, record). The secret is not stored and cannot be shown again."""
    role = parse_role(role)
    secret = PREFIX + secrets.token_urlsafe(32)
    record = TokenRecord(id=uuid.uuid4().hex[:12], name=name or f"{role.value}-token", role=role,
                         token_hash=hash_token(secret), created_at=clock.now())
    return secret, svc.store.create_token(record)


def authenticate(svc: Services, secret: str | None) -> TokenRecord | None:
    """The live token whose secret this is, or None."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    digest = hash_token(secret)
    try:
        record = svc.store.get_token_by_hash(digest)
    except NotFoundError:
        return None
    # The lookup is by hash, so timing does not reveal the secret; compare anyway, in constant time.
    if not hmac.compare_digest(record.token_hash, digest) or record.revoked_at is not None:
        return None
    return record


def list_tokens(svc: Services) -> list[TokenRecord]:
    return svc.store.list_tokens()


def revoke_token(svc: Services, token: str) -> TokenRecord:
    """Revoke by id or name.

    Raises:
        NotFoundError: no such token (ids and names are listed).
    """
    for record in svc.store.list_tokens():
        if token in (record.id, record.name) and record.revoked_at is None:
            return svc.store.update_token(record.id, revoked_at=clock.now())
    known = ", ".join(f"{r.id} ({r.name})" for r in svc.store.list_tokens() if r.revoked_at is None) or "none"
    raise NotFoundError("token", token, f"live tokens: {known}")


def ensure_admin_token(svc: Services, config_path: Path) -> str | None:
    """On a new home, create an admin token and write it to ``config.json`` (mode 0600).

    Returns the new secret, or None when the config already holds a token.
    """
    data = read_home_config(config_path)
    if data.get("token") and authenticate(svc, data["token"]) is not None:
        return None
    secret, _ = create_token(svc, Role.ADMIN, name="admin (created at first start)")
    set_home_config(config_path, token=secret)
    return secret
