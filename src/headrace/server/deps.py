"""Dependencies of the routers, as ``Annotated`` aliases: services, the caller's role, request bodies.

Roles: a route declares the ``headrace.services.policy.Action`` it performs through one of the
aliases below (``Reader`` for every GET, ``SubmitRun``, ``Publish``, ...); the policy's table decides
which role that needs. With auth off (``create_app(auth=False)``) every call is allowed and
the token is ``None``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ValidationError

from headrace.engine.agent import Agent
from headrace.schemas import SubmitRequest
from headrace.server.errors import (
    BadRequestError,
    ForbiddenError,
    LengthRequiredError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    describe_validation,
)
from headrace.server.json_text import load_json, reject_lone_surrogates
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


def _authorize(action: Action, query_token: bool = False) -> Callable[..., TokenRecord | None]:
    def check(request: Request, _doc: Annotated[Any, Security(_bearer_doc)]) -> TokenRecord | None:
        if not request.app.state.auth:
            return None
        scheme, _, secret = request.headers.get("authorization", "").strip().partition(" ")
        if query_token and not secret.strip() and request.query_params.get("token"):
            # Senders that cannot set headers (Azure Event Grid webhooks) put the token in the URL.
            scheme, secret = "bearer", request.query_params["token"]
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
PostEvent = Annotated[Caller, Depends(_authorize(Action.POST_EVENT, query_token=True))]
"""A submitter's token as a Bearer header or as ``?token=``."""
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
ManageWebhooks = Annotated[Caller, allowed(Action.MANAGE_WEBHOOKS)]
ManageTriggers = Annotated[Caller, allowed(Action.MANAGE_TRIGGERS)]
RegisterEnvironment = Annotated[Caller, allowed(Action.REGISTER_ENVIRONMENT)]
RegisterModel = Annotated[Caller, allowed(Action.REGISTER_MODEL)]
PromoteModel = Annotated[Caller, allowed(Action.PROMOTE_MODEL)]
DeleteModel = Annotated[Caller, allowed(Action.DELETE_MODEL)]

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


def _check_json_type(request: Request) -> None:
    """Without auth, a JSON body must say so: the types a web page may post cross-origin without asking
    (text/plain, forms, none) would let any page the person opens submit runs."""
    if request.app.state.auth:
        return  # some clients send none; a page cannot attach the token anyway
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaTypeError(
            f"send the body as JSON with the header 'Content-Type: application/json' (got "
            f"{media[:100] or 'no Content-Type'}); a server without authentication reads no other type")


async def _read_json(request: Request) -> Any:
    _check_json_type(request)
    raw = await request.body()
    if not raw.strip():
        raise BadRequestError("the request body is empty: send a JSON object")
    try:
        data = load_json(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(f"the body is not valid JSON: {exc}") from None
    reject_lone_surrogates(raw, data)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """A dependency parsing the raw body as ``model``: any Content-Type with auth (some clients send none),
    ``application/json`` without."""

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
    """The body as sent; a request that sends none (no ``Content-Length``, not chunked) is refused rather
    than read as an empty file."""
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    if "content-length" not in request.headers and not chunked:
        raise LengthRequiredError("send the bytes as the request body, with a Content-Length header "
                                  "('Content-Length: 0' for an empty file)")
    return await request.body()


BODY_MODELS: dict[str, type[BaseModel]] = {}
"""Every model ``body_doc`` referred to, by name: ``server.openapi`` adds their schemas to the document
(filled as the routers are defined, at import; the same for every app)."""


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body parsed by ``json_body`` (``server.openapi`` adds the schema)."""
    BODY_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


RAW_BODY_DOC: dict[str, Any] = {
    "requestBody": {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
}

SubmitBody = Annotated[SubmitRequest, Depends(json_body(SubmitRequest))]
RawBody = Annotated[bytes, Depends(raw_body)]


API_PREFIX = "/api/v1"


def single_query_values(request: Request) -> None:
    """Refuse a query parameter given twice unless the document calls it a list (``status``): the
    framework would silently keep the last value."""
    keys = [key for key, _ in request.query_params.multi_items()]
    repeated = {key for key in keys if keys.count(key) > 1}
    if not repeated:
        return
    route = request.scope.get("route")
    path = API_PREFIX + getattr(route, "path_format", "")  # routes know their path under the prefix
    lists = _list_parameters(request.app).get((request.method, path), set())
    bad = sorted(repeated - lists)
    if bad:
        raise BadRequestError(f"query parameter {bad[0]!r} is given more than once; it takes one value",
                              target=bad[0])


def _list_parameters(app: Any) -> dict[tuple[str, str], set[str]]:
    """(method, path) -> its query parameters of array type, read from the OpenAPI document once."""
    cached = getattr(app.state, "list_query_parameters", None)
    if cached is None:
        cached = {}
        for path, operations in app.openapi().get("paths", {}).items():
            for method, operation in operations.items():
                cached[(method.upper(), path)] = {
                    p["name"] for p in operation.get("parameters", [])
                    if p.get("in") == "query" and _is_array(p.get("schema", {}))}
        app.state.list_query_parameters = cached
    return cached


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(s.get("type") == "array" for s in schema.get("anyOf", []))


def get_base_url(request: Request) -> str:
    """The server's public address, for the ``Endpoint`` URLs it hands out."""
    return request.app.state.public_url or str(request.base_url).rstrip("/")


BaseUrl = Annotated[str, Depends(get_base_url)]
