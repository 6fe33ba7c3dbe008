"""Runs: ``Run`` (and ``Run.get_context()`` in step scripts), ``PipelineRun``, ``StepRun``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headrace.errors import NotFoundError
from headrace.sdk import run_details
from headrace.storage.records import RunRecord, StepRunRecord


class Run:
    """Base of every run object. In a step script, ``Run.get_context()`` returns the step's run."""

    id: str

    @staticmethod
    def get_context(allow_offline: bool = True) -> Run:
        """The run this code executes in: the step run inside a pipeline step, else an offline run
        that prints what it is given.

        Raises:
            RunError: not inside a step and ``allow_offline`` is False.
        """
        from headrace.sdk.context import current_run

        return current_run(allow_offline)

    # Shared by PipelineRun and StepRun, which define ``_refresh`` (re-read the record).
    def _refresh(self) -> Any:
        raise NotImplementedError

    def get_status(self) -> str:
        """NotStarted, Queued, Running, Finished, Failed or Canceled."""
        return self._refresh().status.value

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._refresh().tags)

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self._refresh().properties)

    def get_tags(self) -> dict[str, str]:
        """The run's tags (name -> value)."""
        return self.tags

    def get_properties(self) -> dict[str, Any]:
        """The run's properties (immutable name -> value pairs set when it was queued)."""
        return self.properties

    def get_file_names(self) -> list[str]:
        """The files kept with this run (a step run's logs; a pipeline run keeps none of its own)."""
        return []

    def _read_file(self, name: str) -> str:
        raise NotFoundError("run file", name, "this run keeps no files")

    def download_file(self, name: str, output_file_path: str | Path | None = None) -> str:
        """Copy the run file ``name`` to ``output_file_path`` (default: its base name here); returns the path.

        Raises:
            NotFoundError: no such file (the run's files are listed).
        """
        return run_details.download(self.get_file_names(), self._read_file, name, output_file_path)

    def register_model(self, model_name: str, model_path: str | None = None, tags: dict | None = None,
                       properties: dict | None = None, model_framework: str | None = None,
                       model_framework_version: str | None = None, description: str | None = None,
                       datasets: list | None = None, sample_input_dataset: Any = None,
                       sample_output_dataset: Any = None, resource_configuration: Any = None, **kwargs: Any) -> Any:
        """Register files this run produced as the next version of ``model_name``; returns the ``Model``.

        ``model_path`` (default: ``model_name``) is ``<output name>/<path>``: a file or folder in a step output.
        The datasets the producing step read are recorded as the model's training data.

        Raises:
            ModelError: the path names none of the run's files (the message lists them).
        """
        from headrace.sdk.models.model import register_run_model

        step = getattr(self, "name", None) if isinstance(self, StepRun) else None
        run_id = self.parent.id if isinstance(self, StepRun) else self.id
        return register_run_model(self.experiment.workspace, run_id, step, model_name, model_path, tags=tags,
                                  properties=properties, model_framework=model_framework,
                                  model_framework_version=model_framework_version, description=description,
                                  datasets=datasets, sample_input_dataset=sample_input_dataset,
                                  sample_output_dataset=sample_output_dataset)


class PipelineRun(Run):
    """A submitted pipeline run.

    Example:
        >>> run = PipelineRun.get(ws, run_id)
        >>> run.wait_for_completion(show_output=True)
        >>> run.find_step_run("train")[0].get_stdout_log()
    """

    def __init__(self, experiment: Any, run_id: str, _record: RunRecord | None = None):
        self.experiment = experiment
        self.id = run_id
        self._backend = experiment.workspace._backend
        self._record = _record or self._backend.get_run(run_id)

    @classmethod
    def get(cls, workspace: Any, run_id: str) -> PipelineRun:
        """Look a run up by id. Raises: NotFoundError."""
        from headrace.sdk.experiment import Experiment

        record = workspace._backend.get_run(run_id)
        return cls(Experiment(workspace, record.experiment_name), run_id, _record=record)

    def _refresh(self) -> RunRecord:
        self._record = self._backend.get_run(self.id)
        return self._record

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

    def get_children(self, recursive: bool = False, tags: str | dict[str, str] | None = None,
                     properties: str | dict[str, Any] | None = None, type: str | None = None,  # noqa: A002
                     status: str | None = None) -> list[StepRun]:
        """The step runs, filtered as Azure ML filters children: by tag or property (a name, or
        ``{name: value}`` pairs), by ``type`` (``azureml.StepRun``) and by ``status``. Step runs have
        no children, so ``recursive`` changes nothing."""
        if type is not None and type not in ("azureml.StepRun", "StepRun"):
            return _Children()
        return _Children(s for s in self.get_steps()
                         if run_details.matches(s._record.tags, tags)
                         and run_details.matches(s._record.properties, properties)
                         and (status is None or s._record.status.value == status))

    def find_step_run(self, name: str) -> list[StepRun]:
        """The step runs named ``name`` (a list, as in Azure ML)."""
        return [s for s in self.get_steps() if s.name == name]

    def get_metrics(self, recursive: bool = False) -> dict[str, Any]:
        """Metrics logged on the pipeline run itself (``run.parent.log`` in a step); with
        ``recursive=True`` also ``{step name: {metric: value}}`` for every step."""
        own = self._backend.run_metrics(self.id)
        if recursive:
            for step in self.get_steps():
                own[step.name] = step.get_metrics()
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

    def wait_for_completion(self, show_output: bool = True, timeout_seconds: float | None = None,
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
        self.parent = parent
        self.experiment = parent.experiment
        self._backend = parent._backend
        self._record = record
        self.id = record.id
        self.name = record.name

    def _refresh(self) -> StepRunRecord:
        self._record = self._backend.get_step_run(self.id)
        return self._record

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
        return run_details.details(r, target=None, extra={
            "logFiles": dict.fromkeys(self.get_file_names(), ""), "name": r.name, "exitCode": r.exit_code,
            "reusedRunId": r.reused_from, "parentRunId": r.run_id, "tags": r.tags,
        })

    def get_file_names(self) -> list[str]:
        """The step's logs, under Azure ML's names (``logs/azureml/stdoutlogs.txt``, ``stderrlogs.txt``,
        ``executionlogs.txt``)."""
        return list(run_details.STEP_LOG_FILES)

    def _read_file(self, name: str) -> str:
        return self._backend.read_step_log(self._refresh(), run_details.STEP_LOG_FILES[name])

    def get_metrics(self) -> dict[str, Any]:
        """name -> last value logged, or the list of values for a series."""
        return self._backend.step_metrics(self._refresh())

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
