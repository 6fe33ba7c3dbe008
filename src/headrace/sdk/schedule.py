"""``Schedule``: run a published pipeline or a pipeline endpoint on a calendar or on datastore changes.

The API is Azure ML v1's (``Schedule.create``, ``create_for_pipeline_endpoint``, ``get``, ``list``,
``enable``, ``disable``, ``update``, ``get_pipeline_runs``, ``get_last_pipeline_run``), plus
``delete``, ``cron``, ``next_run_time``, misfire policies and tick history.
Schedules fire while a scheduler runs: ``headrace server`` includes one, ``headrace scheduler``
runs one alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from headrace.core.params import DataPath
from headrace.core.recurrence import ScheduleRecurrence
from headrace.errors import ScheduleError
from headrace.services.schedules import describe as describe_record
from headrace.storage.records import EntityStatus, ScheduleKind, ScheduleRecord, ScheduleTickRecord

_ADDED = ("cron", "time_zone", "start_time", "end_time", "status", "recursive", "batch", "misfire",
          "misfire_cap", "run_on_create")


def _datastore_name(datastore: Any) -> str | None:
    if datastore is None or isinstance(datastore, str):
        return datastore
    name = getattr(datastore, "name", None)
    if not isinstance(name, str):
        raise ScheduleError(f"expected a Datastore or a datastore name, got {datastore!r}", field="datastore")
    return name


def _parameters(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v.to_json() if isinstance(v, DataPath) else v for k, v in values.items()}


class Schedule:
    """A schedule of a workspace.

    Example:
        >>> r = ScheduleRecurrence(frequency="Minute", interval=15)
        >>> s = Schedule.create(ws, name="MyRecurringSchedule", description="Based on time",
        ...                     pipeline_id=published.id, experiment_name="MyExperiment", recurrence=r)
        >>> s.next_run_time, s.disable()
    """

    def __init__(self, workspace: Any, record: ScheduleRecord):
        self.workspace = workspace
        self._record = record

    # -- fields ------------------------------------------------------------------------------
    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    pipeline_id = property(lambda self: self._record.published_pipeline_id)
    pipeline_endpoint_id = property(lambda self: self._record.pipeline_endpoint_id)
    experiment_name = property(lambda self: self._record.experiment_name)
    continue_on_step_failure = property(lambda self: self._record.continue_on_step_failure)
    misfire = property(lambda self: self._record.misfire)
    misfire_cap = property(lambda self: self._record.misfire_cap)
    last_run_id = property(lambda self: self._record.last_run_id)
    provisioning_status = property(lambda self: "Completed")  # schedules are ready once created

    @property
    def status(self) -> str:
        return self._record.status.value

    @property
    def pipeline_parameters(self) -> dict[str, Any]:
        return dict(self._record.parameters)

    @property
    def recurrence(self) -> ScheduleRecurrence | None:
        if self._record.kind is not ScheduleKind.RECURRENCE:
            return None
        return ScheduleRecurrence.from_dict(self._record.trigger)

    def _watch(self, key: str) -> Any:
        return self._record.trigger.get(key) if self._record.kind is ScheduleKind.DATASTORE else None

    datastore_name = property(lambda self: self._watch("datastore"))
    path_on_datastore = property(lambda self: self._watch("path"))
    polling_interval = property(lambda self: self._watch("polling_interval"))
    data_path_parameter_name = property(lambda self: self._watch("data_path_parameter_name"))
    recursive = property(lambda self: self._watch("recursive"))
    batch = property(lambda self: self._watch("batch"))

    @property
    def next_run_time(self) -> datetime | None:
        """When it fires next (poll time for a datastore schedule), in the schedule's time zone;
        None when disabled or past its end time."""
        record = self._record
        if record.status is not EntityStatus.ACTIVE or record.next_fire_at is None:
            return None
        rec = self.recurrence
        return record.next_fire_at.astimezone(rec.zone) if rec is not None else record.next_fire_at

    @property
    def last_fire_time(self) -> datetime | None:
        return self._record.last_fire_at

    def describe(self) -> str:
        """The trigger in words ("Every 15 minutes", "When a file is added or changed in ...")."""
        return describe_record(self._record)

    # -- create ------------------------------------------------------------------------------
    @staticmethod
    def create(workspace: Any, name: str, pipeline_id: str, experiment_name: str,
               recurrence: ScheduleRecurrence | None = None, description: str | None = None,
               pipeline_parameters: Mapping[str, Any] | None = None, wait_for_provisioning: bool = False,
               wait_timeout: int = 3600, datastore: Any = None, polling_interval: float = 5,
               data_path_parameter_name: str | None = None, continue_on_step_failure: bool | None = None,
               path_on_datastore: str | None = None, **options: Any) -> Schedule:
        """Create a schedule of a published pipeline.

        Give ``recurrence`` (or ``cron=``, with optional ``time_zone``, ``start_time``, ``end_time``)
        for a time schedule, or ``datastore`` (+ ``path_on_datastore``, ``polling_interval`` in
        minutes, ``data_path_parameter_name``, ``recursive``, ``batch``) for a reactive one. Also:
        ``status="Disabled"``, ``misfire="latest"|"skip"|"all"``, ``misfire_cap``, ``run_on_create``.

        Raises:
            ScheduleError: an invalid combination or value (``.field`` names it).
            NotFoundError: unknown published pipeline or datastore.
            ParameterError: a parameter the pipeline does not declare, or of the wrong type.
        """
        return Schedule._create(workspace, name, experiment_name, {"published_pipeline_id": pipeline_id},
                                recurrence, description, pipeline_parameters, datastore, polling_interval,
                                data_path_parameter_name, continue_on_step_failure, path_on_datastore, options)

    @staticmethod
    def create_for_pipeline_endpoint(workspace: Any, name: str, pipeline_endpoint_id: str, experiment_name: str,
                                     recurrence: ScheduleRecurrence | None = None, description: str | None = None,
                                     pipeline_parameters: Mapping[str, Any] | None = None,
                                     wait_for_provisioning: bool = False, wait_timeout: int = 3600,
                                     datastore: Any = None, polling_interval: float = 5,
                                     data_path_parameter_name: str | None = None,
                                     continue_on_step_failure: bool | None = None,
                                     path_on_datastore: str | None = None, **options: Any) -> Schedule:
        """Like ``create``, for a pipeline endpoint: each fire runs the endpoint's default version then."""
        return Schedule._create(workspace, name, experiment_name, {"pipeline_endpoint_id": pipeline_endpoint_id},
                                recurrence, description, pipeline_parameters, datastore, polling_interval,
                                data_path_parameter_name, continue_on_step_failure, path_on_datastore, options)

    @staticmethod
    def _create(workspace: Any, name: str, experiment_name: str, target: dict[str, str],
                recurrence: Any, description: Any, pipeline_parameters: Any, datastore: Any,
                polling_interval: Any, data_path_parameter_name: Any, continue_on_step_failure: Any,
                path_on_datastore: Any, options: dict[str, Any]) -> Schedule:
        unknown = sorted(set(options) - set(_ADDED))
        if unknown:
            raise ScheduleError(f"unexpected argument; valid extras: {', '.join(_ADDED)}", field=unknown[0])
        fields: dict[str, Any] = {
            "name": name, "experiment_name": experiment_name, **target, "recurrence": recurrence,
            "description": description, "pipeline_parameters": _parameters(pipeline_parameters),
            "continue_on_step_failure": continue_on_step_failure, **options,
        }
        ds = _datastore_name(datastore)
        if ds is not None:
            fields.update(datastore=ds, polling_interval=polling_interval, path_on_datastore=path_on_datastore,
                          data_path_parameter_name=data_path_parameter_name)
        else:
            fields.update(path_on_datastore=path_on_datastore, data_path_parameter_name=data_path_parameter_name)
        fields = {k: v for k, v in fields.items() if v is not None}
        return Schedule(workspace, workspace._backend.create_schedule(**fields))

    # -- lookup ------------------------------------------------------------------------------
    @staticmethod
    def get(workspace: Any, id: str) -> Schedule:  # noqa: A002 - Azure ML's name
        """Raises: NotFoundError."""
        return Schedule(workspace, workspace._backend.get_schedule(id))

    @staticmethod
    def list(workspace: Any, active_only: bool = True, pipeline_id: str | None = None,
             pipeline_endpoint_id: str | None = None) -> list[Schedule]:
        """Schedules, newest first. With ``pipeline_id`` or ``pipeline_endpoint_id`` every schedule
        of that target is listed (``active_only`` is ignored, as in Azure ML)."""
        records = workspace._backend.list_schedules(active_only=active_only, published_pipeline_id=pipeline_id,
                                                    pipeline_endpoint_id=pipeline_endpoint_id)
        return [Schedule(workspace, r) for r in records]

    @staticmethod
    def get_all(workspace: Any, active_only: bool = True, pipeline_id: str | None = None,
                pipeline_endpoint_id: str | None = None) -> list[Schedule]:
        """Deprecated alias of ``list``."""
        warnings.warn("Schedule.get_all is deprecated; use Schedule.list", DeprecationWarning, stacklevel=2)
        return Schedule.list(workspace, active_only, pipeline_id, pipeline_endpoint_id)

    @staticmethod
    def get_schedules_for_pipeline_id(workspace: Any, pipeline_id: str) -> list[Schedule]:
        """Every schedule (active or disabled) of the published pipeline ``pipeline_id``."""
        return Schedule.list(workspace, active_only=False, pipeline_id=pipeline_id)

    @staticmethod
    def get_schedules_for_pipeline_endpoint_id(workspace: Any, pipeline_endpoint_id: str) -> list[Schedule]:
        """Every schedule (active or disabled) of the pipeline endpoint ``pipeline_endpoint_id``."""
        return Schedule.list(workspace, active_only=False, pipeline_endpoint_id=pipeline_endpoint_id)

    def refresh(self) -> Schedule:
        self._record = self.workspace._backend.get_schedule(self.id)
        return self

    # -- change ------------------------------------------------------------------------------
    def enable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        """Activate; it fires from now on (slots missed while disabled never run)."""
        self._record = self.workspace._backend.set_schedule_status(self.id, EntityStatus.ACTIVE)

    def disable(self, wait_for_provisioning: bool = False, wait_timeout: int = 3600) -> None:
        self._record = self.workspace._backend.set_schedule_status(self.id, EntityStatus.DISABLED)

    def update(self, name: str | None = None, description: str | None = None,
               recurrence: ScheduleRecurrence | None = None, pipeline_parameters: Mapping[str, Any] | None = None,
               status: str | None = None, wait_for_provisioning: bool = False, wait_timeout: int = 3600,
               datastore: Any = None, polling_interval: float | None = None,
               data_path_parameter_name: str | None = None, continue_on_step_failure: bool | None = None,
               path_on_datastore: str | None = None, **options: Any) -> None:
        """Change the schedule; None keeps a value. ``pipeline_parameters`` replaces them all.

        Raises:
            ScheduleError: turning a time schedule into a datastore one or back, or an invalid value.
        """
        unknown = sorted(set(options) - set(_ADDED))
        if unknown:
            raise ScheduleError(f"unexpected argument; valid extras: {', '.join(_ADDED)}", field=unknown[0])
        changes = {
            "name": name, "description": description, "recurrence": recurrence,
            "pipeline_parameters": _parameters(pipeline_parameters), "status": status,
            "datastore": _datastore_name(datastore), "polling_interval": polling_interval,
            "data_path_parameter_name": data_path_parameter_name,
            "continue_on_step_failure": continue_on_step_failure, "path_on_datastore": path_on_datastore,
            **options,
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        self._record = self.workspace._backend.update_schedule(self.id, **changes)

    def delete(self) -> None:
        """Delete the schedule (disable it first); its runs stay. Raises ConflictError while active."""
        self.workspace._backend.delete_schedule(self.id)

    # -- history -----------------------------------------------------------------------------
    def get_pipeline_runs(self) -> list[Any]:
        """The runs this schedule started, newest first."""
        from headrace.sdk.published import _run

        return [_run(self.workspace, r) for r in self.workspace._backend.schedule_runs(self.id)]

    def get_last_pipeline_run(self) -> Any:
        """The newest run this schedule started, or None."""
        from headrace.sdk.published import _run

        runs = self.workspace._backend.schedule_runs(self.id, limit=1)
        return _run(self.workspace, runs[0]) if runs else None

    def get_ticks(self, limit: int = 100) -> list[ScheduleTickRecord]:
        """Recent evaluations, newest first: fired / skipped / failed, why, and the runs created."""
        return self.workspace._backend.schedule_ticks(self.id, limit=limit)

    def __repr__(self) -> str:
        return f"Schedule(id={self.id!r}, name={self.name!r}, status={self.status!r}, trigger={self.describe()!r})"

