"""Records of registered model versions, their stage history and aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ModelRecord:
    """One version of a registered model.

    Attributes:
        id: ``name:version`` (Azure ML's model id).
        name: the registered name.
        version: 1, 2, ... per name (the store assigns it).
        root: the file or folder name the files sit under (what ``download`` recreates).
        files: ``ModelFile.as_dict()`` of every file, by path.
        file_count: how many files.
        total_bytes: their total size.
        description: free text.
        tags: string tags (changeable).
        properties: string properties (added to, never changed).
        framework: e.g. ``ScikitLearn``; ``framework_version`` its version.
        datasets: lineage: ``{"scenario", "id", "name", "version"}`` of the datasets it was trained on,
            with ``SampleInput``/``SampleOutput`` for sample datasets.
        run_id: the pipeline run that produced it, if any; ``step_name`` its step.
        experiment_name: that run's experiment.
        source: where the files came from (``run file outputs/model.pkl``, ``step output model_dir/x``,
            ``upload``).
        created_by: who registered it (``token:ci``, ``user:alice``, ``run:<id>/<step>``).
        created_at: when.
        stage: ``None``, ``Staging``, ``Production`` or ``Archived``.
        stage_changed_at: when it last changed stage.
    """

    id: str
    name: str
    version: int
    root: str
    files: list[dict[str, Any]]
    file_count: int
    total_bytes: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    framework: str | None = None
    framework_version: str | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    step_name: str | None = None
    experiment_name: str | None = None
    source: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    stage: str = "None"
    stage_changed_at: datetime | None = None


@dataclass(frozen=True)
class StageChangeRecord:
    """A version moved from one stage to another: the audit trail (who, when, from, to, why)."""

    name: str
    version: int
    from_stage: str
    to_stage: str
    changed_by: str | None
    changed_at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class ModelAliasRecord:
    """``alias`` of model ``name`` points at ``version`` (``champion`` -> 3)."""

    name: str
    alias: str
    version: int
    set_by: str | None
    set_at: datetime


@dataclass(frozen=True)
class LoggedModelRecord:
    """A model an MLflow client logged (MLflow 3's "logged model": ``mlflow.<flavor>.log_model``).

    Its files live in the artifact store under ``logged-models/<id>/artifacts`` (``engine.run_files``).

    Attributes:
        id: ``m-<hex>``, MLflow's model id (``models:/<id>``).
        experiment_id: the headrace experiment it belongs to.
        name: its name (``model`` by default; ``runs:/<run>/<name>`` finds it).
        source_run_id: the run or step run that logged it, if any.
        model_type: a free label.
        status: ``PENDING``, ``READY`` or ``FAILED`` (MLflow's ``LoggedModelStatus``).
        status_message: why it failed, if it did.
        tags: string tags (changeable).
        params: string params (added to).
        metrics: MLflow metrics logged for this model (``{"key", "value", "timestamp", "step", "run_id"}``).
        deleted: deleted (kept, hidden from searches).
        created_at: when.
        updated_at: when it last changed.
    """

    id: str
    experiment_id: str
    name: str
    source_run_id: str | None = None
    model_type: str | None = None
    status: str = "PENDING"
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
