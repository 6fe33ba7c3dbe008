"""Registered environments: versions per name, an identical spec finding its version, builds on demand.

Registration is by content: registering a spec whose hash a version of that name already has returns that
version (Azure ML's behaviour); anything else becomes the next version. Versions never change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from headrace import clock
from headrace.core.environment import check_spec, spec_hash
from headrace.engine import environments as builder
from headrace.errors import AlreadyExistsError, ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.storage.records import EnvironmentRecord

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_ATTEMPTS = 5  # concurrent registrations of one name each retry with the next version


def cache_root(svc: Services) -> Path:
    """Where this workspace's agent builds environments (the local compute target uses the same folder)."""
    return Path(svc.home) / builder.CACHE_FOLDER


def register(svc: Services, name: str, spec: Any, description: str | None = None) -> EnvironmentRecord:
    """Register ``spec`` under ``name``: the version with the same content, or the next version.

    Raises:
        ConfigError: a bad name.
        DefinitionError: a malformed spec.
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ConfigError(f"environment name {name!r} is invalid; use letters, digits, '.', '-' or '_' "
                          "(starting with a letter or digit)")
    clean = check_spec(spec)
    content = spec_hash(clean)
    for _ in range(_ATTEMPTS):
        versions = svc.store.list_environments(name)
        same = next((r for r in versions if r.hash == content), None)
        if same is not None:
            return same
        record = EnvironmentRecord(name=name, version=(versions[0].version + 1) if versions else 1, hash=content,
                                   spec=clean, created_at=clock.now(), description=description)
        try:
            return svc.store.create_environment(record)
        except AlreadyExistsError:
            continue  # another registration took this version: look again
    raise AlreadyExistsError("environment", name, "too many concurrent registrations; try again")


def get(svc: Services, name: str, version: int | str | None = None) -> EnvironmentRecord:
    """The version asked for (the newest when None).

    Raises:
        NotFoundError: naming the registered environments, or the versions of this one.
    """
    if isinstance(version, str):
        if not version.isdigit():
            raise NotFoundError("environment", f"{name}:{version}", "versions are whole numbers 1, 2, ...")
        version = int(version)
    try:
        return svc.store.get_environment(name, version)
    except NotFoundError:
        versions = [r.version for r in svc.store.list_environments(name)]
        if versions:
            hint = f"its versions: {', '.join(map(str, sorted(versions)))}"
        else:
            names = sorted({r.name for r in svc.store.list_environments()})
            hint = f"registered environments: {', '.join(names) or 'none'}"
            if name.lower().startswith("azureml-"):
                hint += (f"; {name!r} is one of Azure ML's curated environments (a prebuilt image), which headrace "
                         f"does not ship: register one of that name with the packages your scripts need, e.g. "
                         f"`headrace environment register {name} -r requirements.txt`, and this call works unchanged")
        raise NotFoundError("environment", name if version is None else f"{name}:{version}", hint) from None


def list_environments(svc: Services, name: str | None = None, all_versions: bool = False) -> list[EnvironmentRecord]:
    """The newest version of each environment by name (every version with ``all_versions``)."""
    records = svc.store.list_environments(name)
    if all_versions:
        return records
    newest: dict[str, EnvironmentRecord] = {}
    for r in records:
        newest.setdefault(r.name, r)
    return list(newest.values())


def build(svc: Services, name: str, version: int | str | None = None) -> tuple[EnvironmentRecord, list[str], Path]:
    """Build a registered version on this workspace's agent now (steps then find it ready).

    Returns:
        The record, the build log, and the interpreter's path.

    Raises:
        NotFoundError: no such environment or version.
        EnvironmentBuildError: the build failed (the resolver's message).
    """
    record = get(svc, name, version)
    log: list[str] = [f"environment {record.name!r} version {record.version}, hash {record.hash[:12]}"]
    python = builder.ensure(record.spec, cache_root(svc), log)
    return record, log, python
