"""``Trigger``: start a published pipeline or an endpoint when an event arrives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.errors import ScheduleError
from headrace.sdk.events.backend import events_backend
from headrace.storage.event_records import TriggerRecord, TriggerTickRecord
from headrace.storage.records import EntityStatus


class Trigger:
    """An event trigger: a schedule-like object fired by events instead of time.

    ``event`` is a headrace event (``run.finished``, ``model.stage_changed``, ...) or ``"http"``: JSON
    posted to ``POST /api/v1/triggers/{name}/events`` (plain JSON, Azure Event Grid, S3 notifications).
    Parameters may read the event: ``{"input_url": "@triggerBody().data.url"}``. Each event fires at most
    once; every evaluation is a tick.

    Example:
        >>> Trigger.create(ws, "on-blob", event="http", pipeline_id=published.id, experiment_name="ingest",
        ...                pipeline_parameters={"blob": "@triggerBody().data.url"})  # doctest: +SKIP
    """

    def __init__(self, workspace: Any, record: TriggerRecord):
        self.workspace = workspace
        self._record = record

    @staticmethod
    def create(workspace: Any, name: str, event: str, pipeline_id: str | None = None,
               pipeline_endpoint_id: str | None = None, experiment_name: str | None = None,
               filters: Mapping[str, Any] | None = None, pipeline_parameters: Mapping[str, Any] | None = None,
               description: str | None = None, status: str = "Active") -> Trigger:
        """Create a trigger of a published pipeline (``pipeline_id``) or an endpoint's default version.

        Raises:
            EventError: an unknown event (the valid ones are listed) or malformed filters.
            ScheduleError: both or neither target, no experiment name, or a malformed ``@`` expression.
            ParameterError: an unknown parameter or a literal value of the wrong type.
            NotFoundError: no such pipeline or endpoint. AlreadyExistsError: the name is taken.
        """
        if not experiment_name:
            raise ScheduleError("give the experiment the runs are recorded under", field="experiment_name")
        record = events_backend(workspace).create_trigger(
            name=name, event=event, experiment_name=experiment_name, pipeline_id=pipeline_id,
            pipeline_endpoint_id=pipeline_endpoint_id, filters=dict(filters or {}),
            pipeline_parameters=dict(pipeline_parameters or {}), description=description,
            status=EntityStatus(status))
        return Trigger(workspace, record)

    @staticmethod
    def get(workspace: Any, name: str) -> Trigger:
        """A trigger by name or id. Raises: NotFoundError."""
        return Trigger(workspace, events_backend(workspace).get_trigger(name))

    @staticmethod
    def list(workspace: Any, active_only: bool = False) -> list[Trigger]:
        return [Trigger(workspace, r) for r in events_backend(workspace).list_triggers(active_only)]

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def event(self) -> str:
        return self._record.event

    @property
    def status(self) -> str:
        return self._record.status.value

    @property
    def pipeline_id(self) -> str | None:
        return self._record.published_pipeline_id

    @property
    def pipeline_endpoint_id(self) -> str | None:
        return self._record.pipeline_endpoint_id

    @property
    def experiment_name(self) -> str:
        return self._record.experiment_name

    @property
    def filters(self) -> dict[str, Any]:
        return dict(self._record.filters)

    @property
    def pipeline_parameters(self) -> dict[str, Any]:
        return dict(self._record.parameters)

    def enable(self) -> None:
        self._record = events_backend(self.workspace).set_trigger_status(self.id, EntityStatus.ACTIVE)

    def disable(self) -> None:
        self._record = events_backend(self.workspace).set_trigger_status(self.id, EntityStatus.DISABLED)

    def delete(self) -> None:
        """Delete the trigger and its ticks (its runs stay)."""
        events_backend(self.workspace).delete_trigger(self.id)

    def get_pipeline_runs(self, limit: int = 100) -> list[Any]:
        """The runs it started, newest first."""
        from headrace.sdk.published import _run

        return [_run(self.workspace, r) for r in events_backend(self.workspace).runs(self.id, limit)]

    def get_ticks(self, limit: int = 100) -> list[TriggerTickRecord]:
        """Its evaluations, newest first: outcome (fired, skipped, failed), event id, reason, run ids."""
        return events_backend(self.workspace).ticks(self.id, limit)

    def post_event(self, body: Any, idempotency_key: str | None = None) -> Any:
        """Post an event to an ``http`` trigger (what ``POST /api/v1/triggers/{name}/events`` does)."""
        return events_backend(self.workspace).post_event(self.name, body, idempotency_key)

    def __repr__(self) -> str:
        target = self.pipeline_id or self.pipeline_endpoint_id
        return f"Trigger(name={self.name!r}, event={self.event!r}, target={target!r}, status={self.status!r})"
