"""MLflow's JSON shapes (``headrace.services.mlflow_tracking``) as the ``mlflow`` client's entities."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Experiment, LoggedModel, Metric, Run, RunInfo
from mlflow.exceptions import MlflowException
from mlflow.protos import service_pb2
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
)
from mlflow.utils.proto_json_utils import parse_dict

from headrace.errors import AlreadyExistsError, ConfigError, HeadraceError, NotFoundError, ParameterError


def _parsed(data: dict[str, Any], message: Any) -> Any:
    parse_dict(data, message)  # fills ``message`` in place
    return message


def run(data: dict[str, Any]) -> Run:
    return Run.from_proto(_parsed(data, service_pb2.Run()))


def run_info(data: dict[str, Any]) -> RunInfo:
    return RunInfo.from_proto(_parsed(data, service_pb2.RunInfo()))


def experiment(data: dict[str, Any]) -> Experiment:
    return Experiment.from_proto(_parsed(data, service_pb2.Experiment()))


def metric(data: dict[str, Any]) -> Metric:
    return Metric.from_proto(_parsed(data, service_pb2.Metric()))


def logged_model(data: dict[str, Any]) -> LoggedModel:
    return LoggedModel.from_proto(_parsed(data, service_pb2.LoggedModel()))


def metric_json(m: Metric) -> dict[str, Any]:
    out = {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
    if getattr(m, "model_id", None):  # MLflow repeats a run's metrics for the model it logs
        out["model_id"] = m.model_id
    return out


def pairs(items: Any) -> list[dict[str, Any]]:
    """MLflow's tag and param entities (``key``, ``value``) as JSON."""
    return [{"key": i.key, "value": i.value} for i in items or []]


def mlflow_error(exc: HeadraceError) -> MlflowException:
    """The MLflow exception a client expects for a headrace error."""
    code = INVALID_PARAMETER_VALUE
    if isinstance(exc, NotFoundError):
        code = RESOURCE_DOES_NOT_EXIST
    elif isinstance(exc, AlreadyExistsError):
        code = RESOURCE_ALREADY_EXISTS
    elif not isinstance(exc, ParameterError | ConfigError):
        return MlflowException(str(exc))
    return MlflowException(str(exc), error_code=code)
