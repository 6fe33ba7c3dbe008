"""The REST API's error codes: which ``HeadraceError`` answers with which HTTP status and ``Error.Code``.

One table, read both ways: the server (``headrace.server.errors``) maps an exception to its status and
code, and the HTTP client (``headrace.client.error_mapping``) maps a code back to the class, so a remote
caller catches the same class an embedded one would.
"""

from __future__ import annotations

from headrace.errors import (
    AlreadyExistsError,
    ConfigError,
    ConflictError,
    DatasetError,
    DatastoreError,
    DefinitionError,
    DisabledError,
    EnvironmentBuildError,
    EventError,
    FlowDefinitionError,
    FlowInputError,
    FlowNodeError,
    HeadraceError,
    LLMError,
    ModelError,
    NotFoundError,
    ParameterError,
    ParameterTypeError,
    PathEscapeError,
    ScheduleError,
    StoreFullError,
    TokenBudgetError,
    UnknownParameterError,
)

__all__ = ["ERROR_CODES", "UNKNOWN_DATASTORE"]

ERROR_CODES: tuple[tuple[type[HeadraceError], int, str], ...] = (
    (StoreFullError, 507, "InsufficientStorage"),  # the metadata store's disk is full: free space, retry
    (UnknownParameterError, 400, "UnknownParameter"),
    (ParameterTypeError, 400, "InvalidParameterType"),
    (ParameterError, 400, "InvalidParameter"),
    (ConfigError, 400, "BadRequest"),
    (DefinitionError, 400, "InvalidPipeline"),
    (ScheduleError, 400, "InvalidSchedule"),
    (EventError, 400, "InvalidEvent"),
    (PathEscapeError, 400, "PathEscapesDatastore"),
    (DatasetError, 400, "DatasetError"),
    (DatastoreError, 400, "DatastoreError"),
    (ModelError, 400, "InvalidModel"),
    (NotFoundError, 404, "NotFound"),
    (DisabledError, 409, "Disabled"),
    (AlreadyExistsError, 409, "AlreadyExists"),
    (ConflictError, 409, "Conflict"),
    (EnvironmentBuildError, 422, "EnvironmentBuildFailed"),  # the resolver's message: fix the requirements
    # Prompt flows. A failing node is a 500 whose message names the node (it is the flow's failure, not
    # the server's); the model API failing is a 424, as on Azure ML online endpoints.
    (FlowDefinitionError, 400, "InvalidFlow"),
    (FlowInputError, 400, "InvalidFlowInput"),
    (TokenBudgetError, 400, "TokenBudgetExceeded"),
    (LLMError, 424, "ModelError"),
    (FlowNodeError, 500, "FlowNodeFailed"),
)
"""(class, HTTP status, code) for the errors of the services. Subclasses come before their bases: the
first class an error is an instance of decides."""

UNKNOWN_DATASTORE = "UnknownDatastore"
"""The code of a ``ParameterError`` caused by a data path naming a datastore that does not exist."""
