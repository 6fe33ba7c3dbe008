"""Request bodies of MLflow's tracking REST API (``/api/2.0/mlflow``), as the ``mlflow`` client sends them.

Field names are MLflow's (snake_case); fields the client sends that headrace has no use for are ignored.
Answers are MLflow's JSON shapes, built by ``headrace.services.mlflow_tracking`` and documented by the
models at the end (``MlflowError`` for every error).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_BATCH = 1000


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class KeyValue(_Body):
    key: str = Field(min_length=1, max_length=MAX_KEY)
    value: str = Field(default="", max_length=MAX_TAG_VALUE)


class MetricValue(_Body):
    key: str = Field(min_length=1, max_length=MAX_KEY)
    value: float | str
    timestamp: int | None = None
    step: int | None = 0
    model_id: str | None = Field(default=None, max_length=64, description="the logged model it measures, if any")


class ExperimentCreate(_Body):
    name: str = Field(min_length=1, max_length=255)


class MlflowRunCreate(_Body):
    experiment_id: str = Field(min_length=1, max_length=64)
    user_id: str | None = Field(default=None, max_length=255)
    run_name: str | None = Field(default=None, max_length=MAX_KEY)
    start_time: int | None = None
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH)


class _RunRef(_Body):
    run_id: str | None = Field(default=None, max_length=64)
    run_uuid: str | None = Field(default=None, max_length=64)

    @property
    def id(self) -> str:
        return self.run_id or self.run_uuid or ""


class MlflowRunUpdate(_RunRef):
    status: str | None = Field(default=None, max_length=16)
    end_time: int | None = None
    run_name: str | None = Field(default=None, max_length=MAX_KEY)


class MetricLog(_RunRef, MetricValue):
    pass


class ParamLog(_RunRef):
    key: str = Field(min_length=1, max_length=MAX_KEY)
    value: str = Field(default="", max_length=MAX_PARAM_VALUE)


class TagSet(_RunRef):
    key: str = Field(min_length=1, max_length=MAX_KEY)
    value: str = Field(default="", max_length=MAX_TAG_VALUE)


class TagDelete(_RunRef):
    key: str = Field(min_length=1, max_length=MAX_KEY)


class BatchLog(_RunRef):
    metrics: list[MetricValue] = Field(default_factory=list, max_length=MAX_BATCH)
    params: list[KeyValue] = Field(default_factory=list, max_length=100)
    tags: list[KeyValue] = Field(default_factory=list, max_length=100)


class InputsLog(_RunRef):
    """``runs/log-inputs``: the datasets (and MLflow 3 models) a run read; headrace keeps none of them."""

    datasets: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    models: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)


class ExperimentSearch(_Body):
    max_results: int | None = Field(default=None, ge=1, le=50000)
    filter: str | None = Field(default=None, max_length=1000)
    page_token: str | None = Field(default=None, max_length=500)


class RunSearch(_Body):
    experiment_ids: list[str] = Field(default_factory=list, max_length=100)
    filter: str | None = Field(default=None, max_length=1000)
    max_results: int = Field(default=1000, ge=1, le=50000)
    page_token: str | None = Field(default=None, max_length=500)


# -- logged models (MLflow 3) -----------------------------------------------------------------------
class LoggedModelCreate(_Body):
    experiment_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=255)
    model_type: str | None = Field(default=None, max_length=255)
    source_run_id: str | None = Field(default=None, max_length=64)
    params: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH)
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH)


class LoggedModelFinalize(_Body):
    status: str | int = Field(description="LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED")


class LoggedModelTags(_Body):
    tags: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH)


class LoggedModelParams(_Body):
    params: list[KeyValue] = Field(default_factory=list, max_length=MAX_BATCH)


class LoggedModelOrder(_Body):
    field_name: str = Field(min_length=1, max_length=MAX_KEY)
    ascending: bool = True


class LoggedModelSearch(_Body):
    experiment_ids: list[str] = Field(default_factory=list, max_length=100)
    filter: str | None = Field(default=None, max_length=1000)
    max_results: int | None = Field(default=None, ge=1, le=50000)
    order_by: list[LoggedModelOrder] = Field(default_factory=list, max_length=10)
    page_token: str | None = Field(default=None, max_length=500)


class ModelOutput(_Body):
    model_id: str = Field(min_length=1, max_length=64)
    step: int | None = 0


class OutputsLog(_RunRef):
    """``runs/outputs``: the models a run logged (each model names its run already)."""

    models: list[ModelOutput] = Field(default_factory=list, max_length=MAX_BATCH)


class ModelLog(_RunRef):
    """``runs/log-model``: MLflow 2's model history, accepted and not kept (the logged model record says it)."""

    model_json: str | None = Field(default=None, max_length=1_000_000)


# -- the model registry (logged models registered as headrace model versions) ---------------------
class RegisteredModelCreate(_Body):
    name: str = Field(min_length=1, max_length=255)
    tags: list[KeyValue] = Field(default_factory=list, max_length=100)
    description: str | None = Field(default=None, max_length=5000)


class ModelVersionCreate(_Body):
    name: str = Field(min_length=1, max_length=255)
    source: str = Field(min_length=1, max_length=1000, description="models:/<logged model id>")
    run_id: str | None = Field(default=None, max_length=64)
    model_id: str | None = Field(default=None, max_length=64)
    tags: list[KeyValue] = Field(default_factory=list, max_length=100)
    description: str | None = Field(default=None, max_length=5000)


class LatestVersions(_Body):
    name: str = Field(min_length=1, max_length=255)
    stages: list[str] = Field(default_factory=list, max_length=10)


# -- answers (documented in the OpenAPI document; built as plain JSON by services.mlflow_tracking) ----------
class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class MlflowError(_Answer):
    """MLflow's error body: the client raises ``MlflowException`` with this code and message."""

    error_code: str = Field(description="MLflow's code: INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, ...")
    message: str


class KeyValueOut(_Answer):
    key: str
    value: str


class MlflowExperiment(_Answer):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: list[KeyValueOut] = Field(default_factory=list)


class ExperimentAnswer(_Answer):
    experiment: MlflowExperiment


class ExperimentCreated(_Answer):
    experiment_id: str


class ExperimentsFound(_Answer):
    experiments: list[MlflowExperiment]
    next_page_token: str | None = None


class Metric(_Answer):
    key: str
    value: float | Literal["NaN", "Infinity", "-Infinity"]
    timestamp: int
    step: int


class RunInfo(_Answer):
    run_id: str
    run_uuid: str
    run_name: str
    experiment_id: str
    user_id: str
    status: Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
    start_time: int
    end_time: int | None = None
    artifact_uri: str
    lifecycle_stage: str


class RunData(_Answer):
    metrics: list[Metric]
    params: list[KeyValueOut]
    tags: list[KeyValueOut]


class MlflowRun(_Answer):
    info: RunInfo
    data: RunData
    inputs: dict[str, Any] = Field(default_factory=dict)


class RunAnswer(_Answer):
    run: MlflowRun


class RunUpdated(_Answer):
    run_info: RunInfo


class RunsFound(_Answer):
    runs: list[MlflowRun]
    next_page_token: str | None = None


class MetricHistory(_Answer):
    metrics: list[Metric]
    next_page_token: str | None = None


class FileInfo(_Answer):
    path: str
    is_dir: bool
    file_size: int | None = None


class ArtifactList(_Answer):
    root_uri: str
    files: list[FileInfo]


class ProxiedArtifactList(_Answer):
    files: list[FileInfo]


class LoggedModelInfo(_Answer):
    model_id: str
    experiment_id: str
    name: str
    artifact_uri: str
    status: Literal["LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"]
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    source_run_id: str | None = None
    model_type: str | None = None
    status_message: str | None = None
    tags: list[KeyValueOut] = Field(default_factory=list)


class LoggedModelData(_Answer):
    params: list[KeyValueOut]
    metrics: list[Metric]


class MlflowLoggedModel(_Answer):
    info: LoggedModelInfo
    data: LoggedModelData


class LoggedModelAnswer(_Answer):
    model: MlflowLoggedModel


class LoggedModels(_Answer):
    models: list[MlflowLoggedModel]
    next_page_token: str | None = None


class Empty(_Answer):
    """MLflow's answer to a write: ``{}``."""


class RegisteredModelAnswer(_Answer):
    registered_model: dict[str, Any]


class ModelVersionAnswer(_Answer):
    model_version: dict[str, Any]


class ModelVersionsAnswer(_Answer):
    model_versions: list[dict[str, Any]]


class DownloadUri(_Answer):
    artifact_uri: str
