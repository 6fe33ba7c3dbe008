"""Runs: ``Run`` (the Run API, and ``Run.get_context()`` in scripts), ``PipelineRun``, ``StepRun``, ``ScriptRun``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headrace.errors import NotFoundError
from headrace.sdk import run_details
from headrace.sdk.runs.run import Run, run_for
from headrace.storage.records import RunRecord, StepRunRecord

__all__ = ["PipelineRun", "PortDataReference", "Run", "StepRun", "run_for"]


class PipelineRun(Run):
    """A submitted pipeline run.

    Example:
        >>> run = PipelineRun.get(ws, run_id)
        >>> run.wait_for_completion(show_output=True)
        >>> run.find_step_run("train")[0].get_stdout_log()
    """

    def __init__(self, experiment: Any, run_id: str, _record: RunRecord | None = None, outputs: str | None = None):
        super().__init__(experiment, run_id, _record)

    # -- status and details --------------------------------------------------------------

    @property
    def parameters(self) -> dict[str, Any]:
        """The value every pipeline parameter had in this run."""
        return dict(self._record.parameters)

    def get_details(self) -> dict[str, Any]:
        """Azure ML's details dict (``runId``, ``status``, ``startTimeUtc``, ``endTimeUtc`` once ended,
        ``properties``, ``inputDatasets``, ``warnings`` when any...) plus headrace's ``experimentName``,
        ``pipelineId``, ``publishedPipelineId``, ``parameters``, ``tags``, ``createdTimeUtc``, ``runSource``."""
        r = self._refresh()
        return run_details.details(r, target=None, extra={
            "experimentName": r.experiment_name, "pipelineId": r.pipeline_id,
            "publishedPipelineId": r.published_pipeline_id, "parameters": r.parameters, "tags": r.tags,
            "createdTimeUtc": run_details.utc(r.created_at), "runSource": r.run_source,
        })

    # -- steps ---------------------------------------------------------------------------
    def get_steps(self) -> list[StepRun]:
        """The step runs of this run, in topological order."""
        return [StepRun(self, rec) for rec in self._backend.list_step_runs(self.id)]

    def get_children(self, recursive: bool = False, tags: str | dict[str, str] | None = None,  # type: ignore[override]
                     properties: str | dict[str, Any] | None = None, type: str | None = None,  # noqa: A002
                     status: str | None = None, _rehydrate_runs: bool = True) -> list[StepRun]:
        """The step runs, filtered as Azure ML filters children: by tag or property (a name, or
        ``{name: value}`` pairs), by ``type`` (``azureml.StepRun``) and by ``status``. Step runs have
        no children, so ``recursive`` changes nothing."""
        if type is not None and type not in ("azureml.StepRun", "StepRun"):
            return _Children()
        return _Children(s for s in self.get_steps()
                         if run_details.matches(s._record.tags, tags)
                         and run_details.matches(s._record.properties, properties)
                         and (status is None or s._record.status.value == status))

    def get_pipeline_output(self, pipeline_output_name: str) -> PortDataReference:
        """The data of the output declared with ``PipelineData(..., pipeline_output_name=...)``.

        Raises:
            NotFoundError: no output of the pipeline has that name (the message lists those that do).
        """
        data = self._backend.get_run_graph(self.id).get("data", {})
        named = {spec["pipeline_output"]: (spec["producer"], name) for name, spec in data.items()
                 if spec.get("kind") == "pipeline_data" and spec.get("pipeline_output")}
        if pipeline_output_name not in named:
            raise NotFoundError("pipeline output", pipeline_output_name,
                                f"this pipeline's outputs: {', '.join(sorted(named)) or 'none'} "
                                "(PipelineData(..., pipeline_output_name=...))")
        producer, name = named[pipeline_output_name]
        [step] = self.find_step_run(producer)
        return step.get_output_data(name)

    def find_step_run(self, name: str) -> list[StepRun]:
        """The step runs named ``name`` (a list, as in Azure ML)."""
        return [s for s in self.get_steps() if s.name == name]

    def get_metrics(self, name: str | None = None, recursive: bool = False, run_type: str | None = None,
                    populate: bool = False) -> dict[str, Any]:
        """Metrics logged on the pipeline run itself (``run.parent.log`` in a step); with
        ``recursive=True`` also ``{step name: {metric: value}}`` for every step."""
        if isinstance(name, bool):  # get_metrics(True): the positional ``recursive`` of earlier versions
            name, recursive = None, name
        own = self._own_metrics()
        if name is not None:
            own = {k: v for k, v in own.items() if k == name}
        if recursive:
            for step in self.get_steps():
                own[step.name] = step.get_metrics(name)
        return own

    def publish_pipeline(self, name: str, description: str | None = None, version: str | None = None,
                         continue_on_step_failure: bool | None = None):
        """Publish the pipeline this run executed; returns a ``PublishedPipeline``."""
        from headrace.sdk.published import PublishedPipeline

        record = self._backend.publish_run(self.id, name=name, description=description, version=version,
                                           continue_on_step_failure=continue_on_step_failure)
        return PublishedPipeline(self.experiment.workspace, record)

    # -- control -------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the run (running steps are stopped, others will not start)."""
        self._record = self._backend.cancel_run(self.id)

    def wait_for_completion(self, show_output: bool = True, timeout_seconds: float | None = None,  # type: ignore[override]
                            raise_on_error: bool = True) -> str:
        """Wait until the run ends; return its final status.

        Args:
            show_output: stream each step's status and output while waiting.
            timeout_seconds: give up after this long (raises RunTimeoutError).
            raise_on_error: raise if the run failed.

        Raises:
            StepFailedError: the run failed; names the failing step, its exit code and stderr tail.
            RunTimeoutError: ``timeout_seconds`` elapsed first.
        """
        from headrace.sdk.waiting import wait_for_run

        return wait_for_run(self, show_output, timeout_seconds, raise_on_error)

    def __repr__(self) -> str:
        return f"PipelineRun(id={self.id!r}, experiment={self.experiment.name!r}, status={self._record.status.value!r})"


class StepRun(Run):
    """One step of a pipeline run."""

    def __init__(self, parent: PipelineRun, record: StepRunRecord):
        self._parent = parent
        self.experiment = parent.experiment
        self._backend = parent._backend
        self._record = record
        self.id = record.id
        self.name = record.name
        self._outputs = None

    @property
    def parent(self) -> PipelineRun:  # type: ignore[override]
        return self._parent

    @property
    def type(self) -> str:
        return "azureml.StepRun"

    @property
    def _run_id(self) -> str:
        return self._record.run_id

    @property
    def _step_run_id(self) -> str:  # type: ignore[override]
        return self.id

    def _refresh(self) -> StepRunRecord:
        self._record = self._backend.get_step_run(self.id)
        return self._record

    def _own_metrics(self) -> dict[str, Any]:
        return self._backend.step_metrics(self._refresh())

    def complete(self, _set_status: bool = True) -> None:
        """Nothing to do: a step run ends when its script does (calling it in the script is harmless too)."""

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Stop the pipeline run this step belongs to (its steps end Canceled)."""
        self.parent.cancel()

    def cancel(self) -> None:
        """Cancel the pipeline run this step belongs to."""
        self.parent.cancel()

    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: str | None = None) -> Run:
        """Start an interactive child run of the pipeline run (from outside the step; inside its script,
        ``Run.get_context().child_run()`` starts a child of the step run, listed by ``get_children()``)."""
        return self.parent.child_run(name, run_id, outputs)

    @property
    def is_reused(self) -> bool:
        return self._refresh().reused_from is not None

    @property
    def reused_run_id(self) -> str | None:
        """The step run whose results this one reused, or None."""
        return self._refresh().reused_from

    @property
    def exit_code(self) -> int | None:
        return self._refresh().exit_code

    @property
    def error(self) -> str | None:
        return self._refresh().error

    def get_stdout_log(self) -> str:
        return self._backend.read_step_log(self._refresh(), "stdout")

    def get_stderr_log(self) -> str:
        return self._backend.read_step_log(self._refresh(), "stderr")

    def get_execution_log(self) -> str:
        """Timings, command, reuse decision and upload sizes of this step run."""
        return self._backend.read_step_log(self._refresh(), "execution")

    get_job_log = get_execution_log

    def get_details(self) -> dict[str, Any]:
        """Azure ML's details dict for this step run (see ``PipelineRun.get_details``), with
        ``logFiles`` naming its logs and headrace's ``name``, ``exitCode``, ``reusedRunId``."""
        r = self._refresh()
        out = run_details.details(r, target=None, extra={
            "logFiles": dict.fromkeys(self._log_files(), ""), "name": r.name, "exitCode": r.exit_code,
            "reusedRunId": r.reused_from, "parentRunId": r.run_id, "tags": r.tags,
            "loggedModels": run_details.logged_models(
                self._backend.logged_models(self._parent._record.experiment_id, r.id)),
        })
        out["runDefinition"] = self._run_definition()
        return out

    def _run_definition(self) -> dict[str, Any]:
        graph = self._backend.get_run_graph(self._run_id)
        step = next((s for s in graph.get("steps", []) if s.get("name") == self.name), None)
        return run_details.run_definition(step) if step else {}

    def _log_files(self) -> dict[str, tuple[Any, str]]:
        """The step's logs, under Azure ML's names (``logs/azureml/stdoutlogs.txt``, ``stderrlogs.txt``,
        ``executionlogs.txt``)."""
        return {name: (self._record, which) for name, which in run_details.STEP_LOG_FILES.items()}

    def get_metrics(self, name: str | None = None, recursive: bool = False, run_type: str | None = None,
                    populate: bool = False) -> dict[str, Any]:
        """name -> last value logged, or the list of values for a series."""
        own = self._own_metrics()
        return own if name is None else {k: v for k, v in own.items() if k == name}

    def get_outputs(self) -> dict[str, Any]:
        """name -> ``StepRunOutput`` for every output this step run wrote."""
        from headrace.sdk.step_outputs import StepRunOutput

        return {n: StepRunOutput(self, n, o) for n, o in self._refresh().outputs.items()}

    def get_output_data(self, name: str) -> PortDataReference:
        """The data a step output holds.

        Raises:
            NotFoundError: the step has no such output (or has not produced it yet).
        """
        outputs = self.get_outputs()
        if name not in outputs:
            have = ", ".join(outputs) or "none yet"
            raise NotFoundError("output", name, f"outputs of step {self.name!r}: {have}")
        return outputs[name].get_port_data_reference()

    def __repr__(self) -> str:
        return f"StepRun(name={self.name!r}, id={self.id!r}, status={self._record.status.value!r})"


class PortDataReference:
    """Where a step output's data lives; ``download`` copies it locally."""

    def __init__(self, step: StepRun, name: str, location: dict[str, str]):
        self.step = step
        self.name = name
        self.datastore_name = location["datastore"]
        self.path_on_datastore = location["path"]
        self._path_on_datastore = self.path_on_datastore  # Azure ML's notebooks read the private name
        self.data_reference_name = name

    def download(self, local_path: str | Path, overwrite: bool | None = None, show_progress: bool | None = None) -> str:
        """Copy the output into ``local_path/<path on datastore>``; returns that local path.

        Files already there are kept unless ``overwrite`` (as Azure ML does), so downloading a reused
        step's output again, or running a notebook twice, works.
        """
        ds = self.step._backend.datastore(self.datastore_name)
        dest = Path(local_path) / self.path_on_datastore
        for info in ds.list(self.path_on_datastore, recursive=True):
            target = Path(local_path) / info.path
            if overwrite or not target.exists():
                ds.download(info.path, str(target))
                if show_progress:
                    print(f"downloaded {self.datastore_name}/{info.path} -> {target}")
        if not dest.exists():
            dest.mkdir(parents=True)  # an output the step left empty
        return str(dest)

    def __repr__(self) -> str:
        return f"PortDataReference({self.datastore_name}/{self.path_on_datastore})"


class _Children(list):  # type: ignore[type-arg]
    """Step runs as a list that is also an iterator: Azure ML returns a generator, so notebooks call
    ``next(run.get_children())``; headrace code and tests index and count them."""

    _cursor: Any = None

    def __next__(self) -> Any:
        if self._cursor is None:
            self._cursor = iter(list(self))
        return next(self._cursor)
