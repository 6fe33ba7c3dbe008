"""Wire models of the REST API (``/api/v1``), shared by the server and the HTTP client.

Field names are PascalCase on purpose: they are Azure ML v1's REST names (``Id``, ``Status``,
``ParameterAssignments``, ``DataPathAssignments``...), which existing callers already parse.
Lists come as ``{"Value": [...], "ContinuationToken": str | null}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

MAX_NAME = 255
"""Longest name (experiment, pipeline, endpoint, schedule, run publish)."""
MAX_DESCRIPTION = 10_000
"""Longest description, in characters: descriptions come back in every listing."""
MAX_TAGS = 100
MAX_TAG_KEY = 255
MAX_TAG_VALUE = 5_000
MAX_RUN_SOURCE = 100
NAME_RULES: dict[str, Any] = {"maxLength": MAX_NAME, "pattern": r"\S"}
"""What the services check of a name (non-blank, at most 255 characters), for the document."""
DATASTORE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,254}$"
FLOW_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
"""A list cursor as the server hands it out (base64url without padding)."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Request(_Wire):
    """A request body whose keys are matched case-insensitively (``Tags``, ``tags``, ``TAGS``).

    Values are not coerced (``"yes"`` is no boolean, ``"5"`` no integer), so the server takes exactly
    what the OpenAPI document describes.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _match_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {name.lower(): name for name in cls.model_fields}
        matched: dict[str, Any] = {}
        for key, value in data.items():
            name = names.get(str(key).lower(), str(key))
            if name in matched:
                raise ValueError(f"key {key!r} is given twice (keys are case-insensitive)")
            matched[name] = value
        return matched


def _tag_text(value: Any) -> Any:
    """Tag values may come as JSON numbers or booleans; they are kept as strings."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


TagValue = Annotated[
    str, BeforeValidator(_tag_text), StringConstraints(max_length=MAX_TAG_VALUE),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": MAX_TAG_VALUE}, {"type": "number"},
                              {"type": "boolean"}],
                    "description": "A string; numbers and booleans are stored as their JSON text."}),
]
TagMap = Annotated[
    dict[Annotated[str, StringConstraints(max_length=MAX_TAG_KEY)], TagValue] | None,
    Field(default=None, max_length=MAX_TAGS,
          description=f"At most {MAX_TAGS} tags; keys up to {MAX_TAG_KEY} characters, values up to {MAX_TAG_VALUE}."),
]
def _flag(value: Any) -> Any:
    """``"true"``/``"false"`` (any case) as some callers send them; nothing else is read as a boolean."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


Flag = Annotated[
    bool, BeforeValidator(_flag),
    WithJsonSchema({"anyOf": [{"type": "boolean"},
                              {"type": "string", "pattern": "^ *([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]) *$"}],
                    "description": "A boolean; the strings \"true\" and \"false\" (any case) are read as such."}),
]
"""A request flag: a JSON boolean, or the string "true"/"false" (never "yes", 1 or "on")."""
DescriptionText = Annotated[str | None, Field(default=None, max_length=MAX_DESCRIPTION)]


class DataPathValue(_Request):
    DataStoreName: str
    RelativePath: str


class ErrorDetail(_Wire):
    Code: str = Field(description="Machine-readable error code, e.g. UnknownParameter, NotFound.")
    Message: str = Field(description="What is wrong and how to fix it.")
    Target: str | None = Field(default=None, description="The offending parameter, field or id.")


class ErrorResponse(_Wire):
    Error: ErrorDetail


class StepRunRead(_Wire):
    Id: str
    RunId: str
    Name: str
    Status: str
    CreatedTime: datetime
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    ExitCode: int | None = None
    IsReused: bool = False
    ReusedRunId: str | None = None
    ReuseKey: str | None = None
    Outputs: dict[str, DataPathValue] = Field(default_factory=dict)
    Error: str | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    Properties: dict[str, Any] = Field(default_factory=dict)


class RunRead(_Wire):
    Id: str
    Status: str
    ExperimentName: str
    ExperimentId: str
    GraphId: str = Field(description="Id of the frozen pipeline graph the run executes.")
    PipelineId: str | None = Field(default=None, description="The published pipeline, when run through one.")
    PipelineEndpointId: str | None = None
    PipelineEndpointVersion: str | None = None
    ScheduleId: str | None = Field(default=None, description="The schedule whose fire created the run.")
    RunSource: str = "SDK"
    Description: str | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict, description="Resolved scalar parameters.")
    DataPathAssignments: dict[str, DataPathValue] = Field(default_factory=dict)
    ContinueRunOnStepFailure: bool = False
    RegenerateOutputs: bool = False
    CreatedTime: datetime
    StartTime: datetime | None = None
    EndTime: datetime | None = None
    Error: str | None = None
    CancelRequested: bool = False
    Attempt: int = 0
    Properties: dict[str, Any] = Field(default_factory=dict)
    Kind: str = Field(default="pipeline", description="pipeline, script, interactive or hyperdrive.")
    ParentRunId: str | None = Field(default=None, description="A child run's parent run.")
    Steps: list[StepRunRead] | None = Field(default=None, description="Present on GET /runs/{id}.")


class RunList(_Wire):
    Value: list[RunRead]
    ContinuationToken: str | None = None


class ParameterRead(_Wire):
    Name: str
    Type: str = Field(description="int, float, bool, str or datapath")
    DefaultValue: Any = None


class PublishedPipelineRead(_Wire):
    Id: str
    Name: str
    Description: str | None = None
    Version: str | None = None
    Status: str
    Endpoint: str = Field(description="The REST URL to POST a submission to.")
    GraphId: str
    ContinueRunOnStepFailure: bool | None = None
    SourceRunId: str | None = None
    Parameters: list[ParameterRead] = Field(default_factory=list)
    StepNames: list[str] = Field(default_factory=list)
    CreatedTime: datetime
    UpdatedTime: datetime
    Graph: dict[str, Any] | None = Field(default=None, description="Present on GET /pipelines/{id}.")


class PublishedPipelineList(_Wire):
    Value: list[PublishedPipelineRead]
    ContinuationToken: str | None = None


class EndpointVersionRead(_Wire):
    Version: str
    PipelineId: str
    AddedTime: datetime


class PipelineEndpointRead(_Wire):
    Id: str
    Name: str
    Description: str | None = None
    Status: str
    DefaultVersion: str
    Endpoint: str
    Versions: list[EndpointVersionRead]
    CreatedTime: datetime
    UpdatedTime: datetime


class PipelineEndpointList(_Wire):
    Value: list[PipelineEndpointRead]
    ContinuationToken: str | None = None


class ExperimentRead(_Wire):
    Id: str
    Name: str
    CreatedTime: datetime


class ExperimentList(_Wire):
    Value: list[ExperimentRead]
    ContinuationToken: str | None = None


class SubmitRequest(_Request):
    """The Azure ML v1 submission body. Keys are matched case-insensitively."""

    ExperimentName: str = Field(json_schema_extra=NAME_RULES)
    Description: DescriptionText
    Tags: TagMap
    RunSource: str | None = Field(default=None, max_length=MAX_RUN_SOURCE,
                                  description="Free text recorded on the run (default API).")
    ParameterAssignments: dict[str, Any] | None = Field(
        default=None, description="Scalar parameters: JSON values or strings converted to the declared type."
    )
    DataPathAssignments: dict[str, DataPathValue] | None = Field(
        default=None, description="Data path parameters: name -> {DataStoreName, RelativePath}."
    )
    ContinueRunOnStepFailure: Flag | None = None
    DataSetDefinitionValueAssignments: dict[str, Any] | None = Field(
        default=None, description='Dataset parameters, as Azure ML sends them: {"param": {"SavedDataSetReference": '
                                  '{"Id": "<version id>"}}} or {"param": {"DataSetReference": {"Name": "...", '
                                  '"Version": "..."}}} (Version omitted: the latest).'
    )


class SubmitResponse(_Wire):
    Id: str
    Status: str
    PipelineId: str | None = None
    PipelineEndpointId: str | None = None
    PipelineEndpointVersion: str | None = None
    ExperimentName: str
    RunSource: str
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict)
    DataPathAssignments: dict[str, DataPathValue] = Field(default_factory=dict)
    Created: bool = Field(default=True, description="False when an Idempotency-Key repeat returned the first run.")


class StatusChange(_Wire):
    Status: str = Field(description="Active or Disabled")


class HealthRead(_Wire):
    Status: str = "ok"
    Version: str
    Database: str


# -- request bodies of the other routes (keys case-insensitive too) -----------------------------
class PipelineEndpointCreate(_Request):
    Name: str = Field(json_schema_extra=NAME_RULES)
    Description: DescriptionText
    PipelineId: str = Field(description="The published pipeline that becomes version 0 (the default).")


class EndpointVersionCreate(_Request):
    PipelineId: str = Field(description="A published pipeline added as the next version.")
    MakeDefault: Flag = False


class DefaultVersionUpdate(_Request):
    Version: str


class EndpointNameUpdate(_Request):
    """``PUT /pipeline-endpoints/{id}/name`` and ``POST .../reactivate``: the endpoint's (new) name."""

    Name: str


class RunPublish(_Request):
    """``POST /runs/{id}/publish``: publish the graph a run executed."""

    Name: str = Field(json_schema_extra=NAME_RULES)
    Description: DescriptionText
    Version: str | None = Field(default=None, max_length=MAX_NAME)
    ContinueRunOnStepFailure: Flag | None = None


class GraphCreate(_Request):
    Graph: dict[str, Any] = Field(description="A Pipeline.graph() dict whose steps carry uploaded 'snapshot' hashes.")


class GraphRead(_Wire):
    GraphId: str


class SnapshotRead(_Wire):
    Hash: str
    Stored: bool = Field(description="False when the server already had this snapshot.")


class RunCreate(_Request):
    """``POST /runs``: run a stored graph (the remote SDK's ``Experiment.submit``)."""

    GraphId: str
    ExperimentName: str = Field(json_schema_extra=NAME_RULES)
    ParameterAssignments: dict[str, Any] | None = None
    DataPathAssignments: dict[str, DataPathValue] | None = None
    ContinueRunOnStepFailure: Flag = False
    RegenerateOutputs: Flag = False
    Tags: TagMap
    Description: DescriptionText
    Kind: Literal["pipeline", "script"] = Field(
        default="pipeline", description="script: a one-step graph run as a script run (ScriptRunConfig).")
    ParentRunId: str | None = Field(default=None, max_length=64, description="The parent of a script run (a sweep).")


class PublishedPipelineCreate(_Request):
    """``POST /pipelines``: publish a stored graph (the remote SDK's ``Pipeline.publish``)."""

    GraphId: str
    Name: str = Field(json_schema_extra=NAME_RULES)
    Description: DescriptionText
    Version: str | None = Field(default=None, max_length=MAX_NAME)
    ContinueRunOnStepFailure: Flag | None = None


class StepRunList(_Wire):
    Value: list[StepRunRead]
    ContinuationToken: str | None = None


# Schedules live in their own module (it builds on the bases above); re-exported here like the others.
from headrace.schemas.schedules import (  # noqa: E402, F401
    DataStoreTrigger,
    RecurrencePattern,
    RecurrenceWire,
    ScheduleCreate,
    ScheduleList,
    ScheduleRead,
    ScheduleTickList,
    ScheduleTickRead,
    ScheduleUpdate,
    SubmissionInfo,
)
