"""Dependencies of the routers, as ``Annotated`` aliases: services, the caller's role, request bodies.

Roles: a route declares the ``headrace.services.policy.Action`` it performs through one of the
aliases below (``Reader`` for every GET, ``SubmitRun``, ``Publish``, ...); the policy's table decides
which role that needs. With auth off (``create_app(auth=False)``) every call is allowed and
the token is ``None``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError

from headrace.engine.agent import Agent
from headrace.schemas import SubmitRequest
from headrace.server.errors import BadRequestError, ForbiddenError, UnauthorizedError, describe_validation
from headrace.server.json_text import reject_lone_surrogates
from headrace.services import policy, tokens
from headrace.services.bundle import Services
from headrace.services.policy import Action
from headrace.storage.records import TokenRecord

M = TypeVar("M", bound=BaseModel)

# Only documents the scheme in OpenAPI; the header is read by ``_authorize`` (which also takes the
# "Token" scheme some Azure ML clients send).
_bearer_doc = HTTPBearer(auto_error=False, description="A token from `headrace token create`.")
_SCHEMES = ("bearer", "token")


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_agent(request: Request) -> Agent | None:
    return request.app.state.agent


ServicesDep = Annotated[Services, Depends(get_services)]
AgentDep = Annotated[Agent | None, Depends(get_agent)]


def _authorize(action: Action) -> Callable[..., TokenRecord | None]:
    def check(request: Request, _doc: Annotated[Any, Security(_bearer_doc)]) -> TokenRecord | None:
        if not request.app.state.auth:
            return None
        scheme, _, secret = request.headers.get("authorization", "").strip().partition(" ")
        if scheme.lower() not in _SCHEMES or not secret.strip():
            raise UnauthorizedError(
                "missing token: send the header 'Authorization: Bearer <token>' (create one with "
                "`headrace token create --role submitter`)"
            )
        token = tokens.authenticate(request.app.state.services, secret.strip())
        if token is None:
            raise UnauthorizedError("unknown or revoked token")
        if not policy.allows(token.role, action):
            raise ForbiddenError(policy.refusal(token.role, action, token.name))
        return token

    return check


Caller = TokenRecord | None
"""The caller's token (None with auth off)."""


def allowed(action: Action) -> Any:
    """The dependency admitting callers whose role the policy allows ``action`` (401/403 otherwise)."""
    return Depends(_authorize(action))


Reader = Annotated[Caller, allowed(Action.READ)]
SubmitRun = Annotated[Caller, allowed(Action.SUBMIT_RUN)]
CancelRun = Annotated[Caller, allowed(Action.CANCEL_RUN)]
ScoreFlow = Annotated[Caller, allowed(Action.SCORE_FLOW)]
UploadFile = Annotated[Caller, allowed(Action.UPLOAD_FILE)]
RegisterDataset = Annotated[Caller, allowed(Action.REGISTER_DATASET)]
Publish = Annotated[Caller, allowed(Action.PUBLISH)]
ManageEndpoints = Annotated[Caller, allowed(Action.MANAGE_ENDPOINTS)]
ChangePublished = Annotated[Caller, allowed(Action.CHANGE_PUBLISHED)]
ManageSchedules = Annotated[Caller, allowed(Action.MANAGE_SCHEDULES)]
ManageDatastores = Annotated[Caller, allowed(Action.MANAGE_DATASTORES)]
ManageConnections = Annotated[Caller, allowed(Action.MANAGE_CONNECTIONS)]
UnregisterDataset = Annotated[Caller, allowed(Action.UNREGISTER_DATASET)]
EditDraft = Annotated[Caller, allowed(Action.EDIT_DRAFT)]
CreateCompute = Annotated[Caller, allowed(Action.CREATE_COMPUTE)]
ManageCompute = Annotated[Caller, allowed(Action.MANAGE_COMPUTE)]

UnknownParameters = Annotated[
    Literal["error", "warn"] | None,
    Header(alias="Headrace-Unknown-Parameters",
           description="'error' or 'warn': overrides the server's unknown_parameters setting for this submission "
           "(headrace's SDK sends 'error', so its typos fail as they do in an embedded workspace)."),
]

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200,
           description="A repeat with the same key within 24 h returns the first run instead of a new one."),
]


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequestError("the request body is empty: send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}") from None
    reject_lone_surrogates(raw, data)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency parsing the raw body as ``model``, whatever the Content-Type (some clients send none)."""

    async def parse(request: Request) -> M:
        data = await _read_json(request)
        if not isinstance(data, dict):
            raise BadRequestError(f"the body must be a JSON object ({model.__name__}), not {type(data).__name__}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            target = ".".join(str(p) for p in errors[0]["loc"]) if errors and errors[0]["loc"] else None
            raise BadRequestError(describe_validation(list(errors)), target=target) from None

    return parse


async def raw_body(request: Request) -> bytes:
    return await request.body()


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body parsed by ``json_body`` (``server.openapi`` adds the schema)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


RAW_BODY_DOC: dict[str, Any] = {
    "requestBody": {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
}

SubmitBody = Annotated[SubmitRequest, Depends(json_body(SubmitRequest))]
RawBody = Annotated[bytes, Depends(raw_body)]


def get_base_url(request: Request) -> str:
    """The server's public address, for the ``Endpoint`` URLs it hands out."""
    return request.app.state.public_url or str(request.base_url).rstrip("/")


BaseUrl = Annotated[str, Depends(get_base_url)]
