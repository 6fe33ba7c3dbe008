"""LLM connections of the server's workspace: list, get, create or replace, delete.

The routes are a thin layer over ``headrace.services.connections``: the same validation as
``headrace connection create``, keys encrypted at rest, and answers that never carry a key (only
``HasApiKey``). Reading needs the reader role; writing the admin role, since a connection decides where
published flows send their prompts and whose key pays. The path parameter is ``connection_name``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from headrace.errors import ConfigError, NotFoundError
from headrace.schemas.connections import ConnectionList, ConnectionPut, ConnectionRead
from headrace.server.deps import ManageConnections, Reader, ServicesDep, json_body
from headrace.server.errors import BadRequestError
from headrace.services import connections
from headrace.services.connections import ConnectionView

router = APIRouter(prefix="/connections", tags=["connections"])

# The services name a connection's fields in snake case; the wire names them in PascalCase.
_WIRE_FIELDS = {"name": "connection_name", "type": "Type", "base_url": "BaseUrl", "api_version": "ApiVersion",
                "context_size": "ContextSize"}


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body parsed by ``json_body``, its schema inline."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


def connection_read(view: ConnectionView) -> ConnectionRead:
    """The wire form of a connection (``ConnectionView`` carries no key, so neither can this)."""
    return ConnectionRead(Name=view.name, Type=view.type, BaseUrl=view.base_url, HasApiKey=view.has_api_key,
                          ApiVersion=view.api_version, ContextSize=view.context_size, Model=view.model,
                          Extra=view.extra, CreatedTime=view.created_at, UpdatedTime=view.updated_at)


@router.get("", response_model=ConnectionList)
def list_connections(_: Reader, svc: ServicesDep) -> ConnectionList:
    """Every connection, by name, without keys."""
    return ConnectionList(Value=[connection_read(v) for v in connections.list_connections(svc)])


@router.get("/{connection_name}", response_model=ConnectionRead)
def get_connection(connection_name: str, _: Reader, svc: ServicesDep) -> ConnectionRead:
    """One connection, without its key (404 listing the known ones)."""
    return connection_read(connections.get_connection(svc, connection_name))


@router.put("/{connection_name}", response_model=ConnectionRead, openapi_extra=_body_doc(ConnectionPut),
            responses={200: {"description": "Replaced"}, 201: {"model": ConnectionRead, "description": "Created"}})
def put_connection(
    connection_name: str, response: Response, _: ManageConnections, svc: ServicesDep,
    body: Annotated[ConnectionPut, Depends(json_body(ConnectionPut))],
) -> ConnectionRead:
    """Create (201) or replace (200) a connection. The whole connection is replaced: send the key again."""
    try:
        connections.get_connection(svc, connection_name)
        existed = True
    except NotFoundError:
        existed = False
    try:
        view = connections.create_connection(
            svc, connection_name, type=body.Type, base_url=body.BaseUrl, api_key=body.ApiKey,
            api_version=body.ApiVersion, context_size=body.ContextSize, model=body.Model, extra=body.Extra,
            replace=True)
    except ConfigError as exc:
        raise BadRequestError(str(exc), target=_field(str(exc), connection_name)) from None
    response.status_code = 200 if existed else 201
    return connection_read(view)


@router.delete("/{connection_name}", status_code=204, response_class=Response,
               responses={204: {"description": "Deleted, with its stored key"}})
def delete_connection(connection_name: str, _: ManageConnections, svc: ServicesDep) -> Response:
    """Delete a connection and its stored key (404 when there is none)."""
    connections.delete_connection(svc, connection_name)
    return Response(status_code=204)


def _field(message: str, name: str) -> str | None:
    """The wire name of the first field a validation message blames (``Connection.problems`` starts each
    problem with the field's name), or None for another configuration error (e.g. the secret key)."""
    head = f"connection {name!r} is invalid: "
    if not message.startswith(head):
        return None
    word = message[len(head):].split(" ", 1)[0].rstrip(":")
    return _WIRE_FIELDS.get(word)
