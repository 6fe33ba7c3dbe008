"""``Model``: Azure ML v1's registered model, with the stages and aliases MLflow users know."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from headrace.engine import step_env as c
from headrace.errors import HeadraceError, ModelError, NotFoundError
from headrace.sdk.models.backend import models_of
from headrace.storage.model_records import ModelRecord

MODELS_DIR = "azureml-models"
"""Where ``Model.get_model_path`` caches downloaded versions (``azureml-models/<name>/<version>/``)."""


def _env_workspace() -> Any:
    if not (os.environ.get("HEADRACE_URL") or os.environ.get("HEADRACE_HOME")):
        return None
    from headrace.sdk.workspace import Workspace

    return Workspace.from_config()


def _cached(model_name: str, version: int | None) -> str | None:
    """``azureml-models/<name>/<version>/<its one file or folder>`` (the newest cached version when None)."""
    folder = os.path.join(MODELS_DIR, model_name)
    if not os.path.isdir(folder):
        return None
    if version is None:
        numbers = sorted(int(v) for v in os.listdir(folder) if v.isdigit())
        if not numbers:
            return None
        version = numbers[-1]
    folder = os.path.join(folder, str(version))
    entries = os.listdir(folder) if os.path.isdir(folder) else []
    return os.path.join(folder, entries[0]) if len(entries) == 1 else None


def dataset_pairs(datasets: Any, sample_input: Any = None, sample_output: Any = None) -> list[tuple[str, str]]:
    """``[(scenario, dataset)]`` (Azure ML's ``datasets=``) and sample datasets -> ``[(scenario, dataset id)]``.

    Raises:
        ModelError: a dataset without an id (an unregistered one not saved yet).
    """
    pairs = [(str(s), d) for s, d in datasets or ()]
    pairs += [(k, d) for k, d in (("SampleInput", sample_input), ("SampleOutput", sample_output)) if d is not None]
    out = []
    for scenario, ds in pairs:
        ds_id = ds if isinstance(ds, str) else getattr(ds, "id", None)
        if not ds_id:
            raise ModelError(f"dataset for {scenario!r} has no id: register it (or use it in a run) first")
        out.append((scenario, str(ds_id)))
    return out


class Model:
    """A registered model version.

    ``Model(ws, name)`` is the latest version, ``Model(ws, name, version=2)``, ``Model(ws, id="name:2")`` or
    ``Model(ws, name, alias="champion")`` a given one; ``tags``, ``properties`` and ``run_id`` pick the latest
    version that has them.

    Attributes:
        name, version, id (``name:version``), tags, properties, description, created_time, created_by,
        model_framework, model_framework_version, run_id, experiment_name, datasets (scenario -> dataset ids),
        stage, aliases, step_name (headrace: the step that produced it), files (``{path, size, sha256}``).

    Raises:
        NotFoundError: no such model, version or alias (the message lists what exists).

    Example:
        >>> model = Model.register(ws, model_path="outputs/model.pkl", model_name="churn", tags={"area": "crm"})
        >>> model.transition_stage("Production", comment="beats v1", archive_existing=True)
        >>> Model(ws, "churn", alias="champion").download("here", exist_ok=True)
    """

    def __init__(self, workspace: Any, name: str | None = None, id: str | None = None,  # noqa: A002
                 tags: list | None = None, properties: list | None = None, version: int | None = None,
                 run_id: str | None = None, model_framework: str | None = None, expand: bool = True,
                 alias: str | None = None, **kwargs: Any):
        self.workspace = workspace
        self._models = models_of(workspace)
        record = kwargs.get("_record")
        if record is None:
            if (tags or properties or run_id or model_framework) and version is None and id is None and alias is None:
                record = self._first_match(name, tags, properties, run_id, model_framework)
            else:
                record = self._models.get(name, version, alias, id)
        self._set(record)

    def _first_match(self, name, tags, properties, run_id, framework) -> ModelRecord:
        from headrace.services.models import matches

        found = [m for m in self._models.list(name, False, run_id)
                 if matches(m, tags, properties) and (framework is None or m.framework == framework)]
        if not found:
            raise NotFoundError("model", name or "(any)", f"no version has tags={tags} properties={properties} "
                                f"run_id={run_id} model_framework={framework}")
        return max(found, key=lambda m: (m.created_at or datetime.min, m.version))

    def _set(self, r: ModelRecord) -> None:
        self._record = r
        self.name, self.version, self.id = r.name, r.version, r.id
        self.tags, self.properties = dict(r.tags), dict(r.properties)
        self.description, self.created_time, self.created_by = r.description, r.created_at, r.created_by
        self.model_framework, self.model_framework_version = r.framework, r.framework_version
        self.run_id, self.experiment_name, self.step_name = r.run_id, r.experiment_name, r.step_name
        self.url = f"headrace://models/{r.id}"
        self.mime_type = "application/octet-stream"
        self.unpack = False
        self.datasets: dict[str, list[str]] = {}
        for d in r.datasets:
            self.datasets.setdefault(d["scenario"], []).append(d["id"])
        self.sample_input_dataset = next(iter(self.datasets.get("SampleInput", [])), None)
        self.sample_output_dataset = next(iter(self.datasets.get("SampleOutput", [])), None)
        self.files = [dict(f) for f in r.files]

    # -- registration --------------------------------------------------------------------------------
    @staticmethod
    def register(workspace: Any, model_path: str, model_name: str, tags: dict | None = None,
                 properties: dict | None = None, description: str | None = None, datasets: list | None = None,
                 model_framework: str | None = None, model_framework_version: str | None = None,
                 child_paths: list[str] | None = None, sample_input_dataset: Any = None,
                 sample_output_dataset: Any = None, resource_configuration: Any = None) -> Model:
        """Register a local file or folder as the next version of ``model_name``; its files are copied.

        Raises:
            ModelError: the path does not exist, a bad name, ``model_framework_version`` without a framework.
        """
        if getattr(workspace, "in_step", False):  # Run.get_context().experiment.workspace, in a script
            from headrace.sdk.models.in_step import register_path

            return register_path(workspace, model_path, model_name, tags=tags, properties=properties,  # type: ignore[return-value]
                                 description=description, datasets=datasets, model_framework=model_framework,
                                 model_framework_version=model_framework_version,
                                 sample_input_dataset=sample_input_dataset, sample_output_dataset=sample_output_dataset)
        print(f"Registering model {model_name}")
        record = models_of(workspace).register_local(
            os.fspath(model_path), model_name, child_paths, tags=tags, properties=properties,
            description=description, framework=model_framework, framework_version=model_framework_version,
            datasets=dataset_pairs(datasets, sample_input_dataset, sample_output_dataset))
        return Model(workspace, _record=record)

    @staticmethod
    def list(workspace: Any, name: str | None = None, tags: list | None = None, properties: list | None = None,
             run_id: str | None = None, latest: bool = False, dataset_id: str | None = None, expand: bool = True,
             page_count: int = 255, model_framework: str | None = None) -> list[Model]:
        """Versions (by name, then version), filtered as Azure ML filters: ``tags``/``properties`` items are a
        key or ``[key, value]``; ``latest`` keeps each name's highest version."""
        if tags is not None and not isinstance(tags, list):
            raise ModelError(f'tags must be a list, e.g. ["key", ["key2", "value"]], not {type(tags).__name__}')
        from headrace.services.models import matches

        found = models_of(workspace).list(name, latest, run_id)
        return [Model(workspace, _record=m) for m in found
                if matches(m, tags, properties) and (model_framework is None or m.framework == model_framework)
                and (dataset_id is None or any(d["id"] == dataset_id for d in m.datasets))]

    # -- files ---------------------------------------------------------------------------------------
    def download(self, target_dir: str = ".", exist_ok: bool = False, exists_ok: bool | None = None) -> str:
        """Copy the version's files under ``target_dir``; returns the path of the model file or folder.

        Raises:
            ModelError: a file is already there and ``exist_ok`` is False.
        """
        if exists_ok is not None:
            exist_ok = exists_ok
        return self._models.download(self._record, os.fspath(target_dir), exist_ok)

    @staticmethod
    def get_model_path(model_name: str, version: int | None = None, _workspace: Any = None) -> str:
        """The local path of a registered model, as Azure ML finds it: with a ``version``, the cache
        ``azureml-models/<name>/<version>/`` first, then the workspace; without, the workspace's latest version
        (downloaded into that cache), else the cache's newest version, else ``./<model_name>``.

        The workspace is ``_workspace``, else the one ``HEADRACE_URL`` (+ ``HEADRACE_TOKEN``) or ``HEADRACE_HOME``
        name. Inside a step (which holds no workspace credentials) the agent copies the version's files into the
        step's context folder and the path points there (steps on the local target; on a Dask target it says
        it is not served there yet).

        Raises:
            ModelError: ``version`` is not an int.
            NotFoundError: found nowhere (the message says where it looked).
        """
        if version is not None and not isinstance(version, int):
            raise ModelError("version should be an int")
        workspace = _workspace if _workspace is not None else _env_workspace()
        if version is not None:
            cached = _cached(model_name, version)
            if cached is not None:
                return cached
        if workspace is not None:
            model = Model(workspace, model_name, version=version)
            return model.download(os.path.join(MODELS_DIR, model_name, str(model.version)), exist_ok=True)
        if os.environ.get(c.ENV_CONTEXT_DIR) and os.environ.get(c.ENV_STEP_RUN_ID):  # in a step: the agent fetches it
            from headrace.sdk.models.in_step import fetch_model

            return fetch_model(model_name, version)
        cached = _cached(model_name, version)
        if cached is not None:
            return cached
        if version is None and os.path.exists(model_name):
            return model_name
        raise NotFoundError("model", model_name, f"not in {MODELS_DIR}/ nor in {os.getcwd()}, and no workspace to "
                            "fetch it from (pass _workspace=, or set HEADRACE_URL and HEADRACE_TOKEN)")

    # -- tags, properties, description ---------------------------------------------------------------
    def update(self, tags: dict | None = None, description: str | None = None, **_ignored: Any) -> None:
        """Replace the tags (when given) and the description (when given)."""
        remove = [k for k in self.tags if tags is not None and k not in tags]
        self._set(self._models.update(self.name, self.version, add_tags=tags, remove_tags=remove,
                                      description=description))

    def update_tags_properties(self, add_tags: dict | None = None, remove_tags: list | None = None,
                               add_properties: dict | None = None) -> None:
        if isinstance(remove_tags, str):
            remove_tags = [remove_tags]
        self._set(self._models.update(self.name, self.version, add_tags=add_tags, remove_tags=remove_tags,
                                      add_properties=add_properties))

    def add_tags(self, tags: dict) -> None:
        """Add (or replace) tags."""
        self.update_tags_properties(add_tags=tags)

    def remove_tags(self, tags: list) -> None:
        """Remove the tags with these keys."""
        self.update_tags_properties(remove_tags=tags)

    def add_properties(self, properties: dict) -> None:
        """Add properties (one already set keeps its value: changing it raises ModelError)."""
        self.update_tags_properties(add_properties=properties)

    def delete(self) -> None:
        """Delete this version (its stage history and aliases go with it)."""
        self._models.delete(self.name, self.version)

    # -- stages and aliases (beyond Azure ML) --------------------------------------------------------
    @property
    def stage(self) -> str:
        """``None``, ``Staging``, ``Production`` or ``Archived`` (as last read)."""
        return self._record.stage

    def transition_stage(self, stage: str | None, comment: str | None = None, archive_existing: bool = False) -> Model:
        """Move this version to ``stage`` (one of ``None``, ``Staging``, ``Production``, ``Archived``); with
        ``archive_existing`` the other versions in that stage move to ``Archived``. Returns ``self``.

        Raises:
            ModelError: another stage (the message lists these).
        """
        self._set(self._models.transition(self.name, self.version, stage, comment, archive_existing))
        return self

    def get_stage_history(self) -> list[dict[str, Any]]:
        """This version's stage changes, oldest first: ``{version, from_stage, to_stage, changed_by,
        changed_time, comment}``."""
        return [{"version": c.version, "from_stage": c.from_stage, "to_stage": c.to_stage,
                 "changed_by": c.changed_by, "changed_time": c.changed_at, "comment": c.comment}
                for c in self._models.history(self.name, self.version)]

    @property
    def aliases(self) -> list[str]:
        return self._models.aliases(self._record)

    def set_alias(self, alias: str) -> None:
        """Point ``alias`` of this model name at this version (``Model(ws, name, alias=...)`` reads it)."""
        self._models.set_alias(self.name, alias, self.version)

    def delete_alias(self, alias: str) -> None:
        """Remove ``alias`` from this model name. Raises: NotFoundError."""
        self._models.delete_alias(self.name, alias)

    @property
    def run(self) -> Any:
        """The run that produced this version (a ``PipelineRun``), or None."""
        if not self.run_id:
            return None
        from headrace.sdk.runs import PipelineRun

        try:
            return PipelineRun.get(self.workspace, self.run_id)
        except HeadraceError:
            return None

    def serialize(self) -> dict[str, Any]:
        """Azure ML's JSON form of the model, plus ``stage`` and ``aliases``."""
        return {"createdTime": self.created_time.isoformat() if self.created_time else None,
                "createdBy": self.created_by, "description": self.description, "id": self.id,
                "mimeType": self.mime_type, "name": self.name, "framework": self.model_framework,
                "frameworkVersion": self.model_framework_version, "tags": self.tags, "properties": self.properties,
                "unpack": self.unpack, "url": self.url, "version": self.version,
                "experimentName": self.experiment_name, "runId": self.run_id,
                "datasets": [dict(d) for d in self._record.datasets], "stage": self.stage, "aliases": self.aliases}

    def __repr__(self) -> str:
        return (f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, version={self.version}, "
                f"tags={self.tags}, properties={self.properties}, stage={self.stage})")



def register_run_model(workspace: Any, run_id: str, step_name: str | None, model_name: str,
                       model_path: str | None = None, tags: dict | None = None, properties: dict | None = None,
                       model_framework: str | None = None, model_framework_version: str | None = None,
                       description: str | None = None, datasets: list | None = None,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None,
                       **_ignored: Any) -> Model:
    """``run.register_model`` for a pipeline run or a step run (see ``PipelineRun.register_model``)."""
    record = models_of(workspace).register_from_run(
        run_id, model_path or model_name, model_name, step_name, tags=tags, properties=properties,
        description=description, framework=model_framework, framework_version=model_framework_version,
        datasets=dataset_pairs(datasets, sample_input_dataset, sample_output_dataset))
    return Model(workspace, _record=record)
