"""``StepRunOutput``: one output of a step run, as ``StepRun.get_outputs()`` lists them."""

from __future__ import annotations

from typing import Any


class StepRunOutput:
    """An output of a finished step run; ``get_port_data_reference()`` says where its data lives.

    Attributes:
        name: the output's name (the ``PipelineData`` name).
        step_run: the step run that wrote it.
        pipeline_run_id: the id of the pipeline run.
    """

    def __init__(self, step_run: Any, name: str, location: dict[str, str]):
        self.step_run = step_run
        self.name = name
        self.pipeline_run_id = step_run.parent.id
        self._location = location

    def get_port_data_reference(self) -> Any:
        """The ``PortDataReference`` of this output (``datastore_name``, ``path_on_datastore``, ``download``)."""
        from headrace.sdk.runs import PortDataReference

        return PortDataReference(self.step_run, self.name, self._location)

    def __repr__(self) -> str:
        return f"StepRunOutput(name={self.name!r}, step={self.step_run.name!r})"
