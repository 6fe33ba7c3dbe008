"""Registered environments (``Environment.register`` / ``get`` / ``list`` of a remote workspace)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from headrace.schemas.environments import (
    EnvironmentBuildRead,
    EnvironmentCreate,
    EnvironmentList,
    EnvironmentRead,
)
from headrace.server.deps import Reader, RegisterEnvironment, ServicesDep, body_doc, json_body
from headrace.services import environments
from headrace.storage.records import EnvironmentRecord

router = APIRouter(prefix="/environments", tags=["environments"])


def _read(record: EnvironmentRecord) -> EnvironmentRead:
    return EnvironmentRead(Name=record.name, Version=record.version, Hash=record.hash, Spec=dict(record.spec),
                           Description=record.description, CreatedTime=record.created_at)


@router.get("", response_model=EnvironmentList)
def list_environments(_: Reader, svc: ServicesDep, name: str | None = None,
                      all_versions: bool = False) -> EnvironmentList:
    """The newest version of each environment (every version with ``all_versions``; one name with ``name``)."""
    return EnvironmentList(Value=[_read(r) for r in environments.list_environments(svc, name, all_versions)])


@router.get("/{name}", response_model=EnvironmentRead)
def get_environment(name: str, _: Reader, svc: ServicesDep,
                    version: Annotated[str | None, Query(description="A version; the newest when absent.")] = None
                    ) -> EnvironmentRead:
    return _read(environments.get(svc, name, version))


@router.post("/{name}", response_model=EnvironmentRead, openapi_extra=body_doc(EnvironmentCreate))
def register_environment(
    name: str, _: RegisterEnvironment, svc: ServicesDep,
    body: Annotated[EnvironmentCreate, Depends(json_body(EnvironmentCreate))],
) -> EnvironmentRead:
    """Register a spec: the version with the same content, or the next version."""
    return _read(environments.register(svc, name, body.Spec, body.Description))


@router.post("/{name}/build", response_model=EnvironmentBuildRead)
def build_environment(name: str, _: RegisterEnvironment, svc: ServicesDep,
                      version: str | None = None) -> EnvironmentBuildRead:
    """Build a version on the server's agent now (steps then find it ready); a 422 carries uv's message."""
    record, log, _python = environments.build(svc, name, version)
    home = str(svc.home)
    return EnvironmentBuildRead(Name=record.name, Version=record.version, Hash=record.hash,
                                Log=[line.replace(home, "$HEADRACE_HOME") for line in log])
