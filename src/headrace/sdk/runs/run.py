"""``Run``: Azure ML's Run API on any run of a workspace, from a notebook or a program.

Subclasses add what their kind has: ``PipelineRun`` (steps), ``StepRun`` (one step), ``ScriptRun``
(a ``ScriptRunConfig`` run). A plain ``Run`` is an interactive run (``Experiment.start_logging``,
``run.child_run()``): this process writes it and ends it with ``complete()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headrace.errors import NotFoundError
from headrace.sdk import run_details
from headrace.sdk.runs.logging_api import RunLogging
from headrace.sdk.runs.ran_with import RanWith
from headrace.storage.records import RunKind, RunRecord

RUN_TYPES = {RunKind.PIPELINE: "azureml.PipelineRun", RunKind.SCRIPT: "azureml.scriptrun",
             RunKind.INTERACTIVE: "experimentrun", RunKind.SWEEP: "hyperdrive"}
"""Azure ML's ``run.type`` of each kind of run."""


class Run(RunLogging, RanWith):
    """A run: log values and files, tag it, read it back, end it.

    In a script, ``Run.get_context()`` gives the run the script executes in. Elsewhere, runs come from
    ``Experiment.submit``, ``Experiment.start_logging``, ``Run.get(ws, run_id)`` or ``get_runs()``.

    Example:
        >>> run = Experiment(ws, "notebook").start_logging()  # doctest: +SKIP
        >>> run.log("alpha", 0.5); run.upload_file("outputs/model.pkl", "model.pkl")  # doctest: +SKIP
        >>> run.complete()  # doctest: +SKIP
    """

    id: str
    _step_run_id: str | None = None

    def __init__(self, experiment: Any, run_id: str, _record: Any = None, outputs: str | None = None):
        self.experiment = experiment
        self.id = run_id
        self._backend = experiment.workspace._backend
        self._record = _record or self._backend.get_run(run_id)
        self._outputs = outputs  # an interactive run's folder uploaded as outputs/ when it ends

    @staticmethod
    def get_context(allow_offline: bool = True) -> Any:
        """The run this code executes in: the step run inside a pipeline step, the script run inside a
        ``ScriptRunConfig`` script, else an offline run that prints what it is given.

        Raises:
            RunError: not inside a step or script run and ``allow_offline`` is False.
        """
        from headrace.sdk.context import current_run

        return current_run(allow_offline)

    @classmethod
    def get(cls, workspace: Any, run_id: str) -> Run:
        """Look a run up by id: a ``PipelineRun``, ``ScriptRun``, sweep run or interactive ``Run`` by its kind.

        Raises:
            NotFoundError: no such run.
        """
        from headrace.sdk.experiment import Experiment

        record = workspace._backend.get_run(run_id)
        return run_for(Experiment(workspace, record.experiment_name, _create=False), record)

    def _refresh(self) -> Any:
        self._record = self._backend.get_run(self.id)
        return self._record

    @property
    def _run_id(self) -> str:
        return self.id

    # -- reading -------------------------------------------------------------------------
    def get_status(self) -> str:
        """NotStarted, Queued, Running, CancelRequested (asked to stop, its agent has not yet), Completed (Finished
        for a pipeline run), Failed or Canceled."""
        record = self._refresh()
        if getattr(record, "cancel_requested", False) and not record.status.is_terminal:
            return "CancelRequested"
        return record.status.value

    @property
    def status(self) -> str:
        return self.get_status()

    @property
    def type(self) -> str:
        """Azure ML's run type: ``azureml.PipelineRun``, ``azureml.scriptrun``, ``experimentrun``, ``hyperdrive``."""
        return RUN_TYPES.get(getattr(self._record, "kind", RunKind.PIPELINE), "azureml.StepRun")

    @property
    def description(self) -> str | None:
        return getattr(self._record, "description", None)

    @property
    def parent(self) -> Run | None:
        """The parent run (a sweep, the run ``child_run`` was called on, or the step run whose script started
        this run), or None."""
        parent_id = getattr(self._record, "parent_run_id", None)
        if parent_id is None:
            return None
        try:
            return Run.get(self.experiment.workspace, parent_id)
        except NotFoundError:  # a child run a step's script started: its parent is the step run
            from headrace.sdk.runs import StepRun

            step = self._backend.get_step_run(parent_id)
            return StepRun(Run.get(self.experiment.workspace, step.run_id), step)  # type: ignore[arg-type]

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
        """The run's properties (immutable name -> value pairs)."""
        return self.properties

    def _own_metrics(self) -> dict[str, Any]:
        return self._backend.run_metrics(self.id)

    def get_metrics(self, name: str | None = None, recursive: bool = False, run_type: str | None = None,
                    populate: bool = False) -> dict[str, Any]:
        """name -> value logged, or the list of values for a series (a row log: the list of rows).

        Args:
            name: only this metric.
            recursive: also the child runs' metrics: then ``{run id: {name: value}}`` for this run and each
                descendant (of ``run_type`` when given), as in Azure ML.
        """
        own = _only(self._own_metrics(), name)
        if not recursive:
            return own
        out = {self.id: own}
        for child in self.get_children(recursive=True, type=run_type):
            out[child.id] = child.get_metrics(name)
        return out

    # -- writing -------------------------------------------------------------------------
    def _emit(self, items: list[dict[str, Any]]) -> None:
        # Each value's number in its series is counted here, once read from the store, so logging stays one
        # write per call however long the series grows.
        seqs = self.__dict__.get("_seqs")
        if seqs is None:
            seqs = self.__dict__["_seqs"] = {k: len(v) if isinstance(v, list) else 1
                                             for k, v in self._own_metrics().items()}
        numbered = []
        for item in items:
            seq = seqs.get(item["name"], 0)
            seqs[item["name"]] = seq + 1
            numbered.append({**item, "seq": seq})
        self._backend.log_metrics(self._run_id, self._step_run_id, numbered)

    def _put_file(self, name: str, data: bytes) -> None:
        self._backend.write_run_file(self._run_id, self._step_run_id, name, data)

    def tag(self, key: str, value: Any = None) -> None:
        """Set one tag (a tag with no value is ``""``)."""
        self._backend.update_tags(self._run_id, self._step_run_id, {key: value})

    set_tags_item = tag

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags at once."""
        self._backend.update_tags(self._run_id, self._step_run_id, dict(tags))

    def remove_tags(self, tags: list[str] | str) -> None:
        """Remove tags by name."""
        names = [tags] if isinstance(tags, str) else list(tags)
        self._backend.update_tags(self._run_id, self._step_run_id, {}, names)

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add properties; a property cannot change once set (ConflictError)."""
        self._backend.add_properties(self._run_id, self._step_run_id, dict(properties))

    # -- files ---------------------------------------------------------------------------
    def _log_files(self) -> dict[str, tuple[Any, str]]:
        """File name -> (step run record, log) of the logs this run shows as files."""
        return {}

    def get_file_names(self) -> list[str]:
        """The run's files: its logs (for a script or step run), ``./outputs`` and ``./logs`` of its script,
        uploaded files and logged images."""
        logs = list(self._log_files())
        return logs + sorted(set(self._backend.run_file_names(self._run_id, self._step_run_id)) - set(logs))

    def _read_bytes(self, name: str) -> bytes:
        logs = self._log_files()
        if name in logs:
            step, which = logs[name]
            return self._backend.read_step_log(step, which).encode("utf-8")
        try:
            return self._backend.read_run_file(self._run_id, self._step_run_id, name)
        except NotFoundError:
            names = self.get_file_names()
            raise NotFoundError("run file", name, f"files of this run: {', '.join(names) or 'none'}") from None

    def _read_file(self, name: str) -> str:
        return self._read_bytes(name).decode("utf-8", "replace")

    def download_file(self, name: str, output_file_path: str | os.PathLike[str] | None = None,
                      _validate_checksum: bool = False) -> str:
        """Copy run file ``name`` to ``output_file_path`` (default: its base name here; a folder gets it under
        its base name); returns the path written.

        Raises:
            NotFoundError: no such file (the run's files are listed).
        """
        data = self._read_bytes(name)
        dest = Path(output_file_path) if output_file_path is not None else Path(os.path.basename(name))
        if dest.is_dir():
            dest = dest / os.path.basename(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return str(dest)

    def download_files(self, prefix: str | None = None, output_directory: str | os.PathLike[str] | None = None,
                       output_paths: list[str] | None = None, batch_size: int = 100, append_prefix: bool = True,
                       timeout_seconds: int | None = None) -> list[str]:
        """Copy every run file whose name starts with ``prefix`` into ``output_directory`` (default: here),
        keeping their relative paths (without ``prefix`` when ``append_prefix`` is False); returns the paths."""
        root = Path(output_directory or ".")
        written = []
        for name in self.get_file_names():
            if prefix and not name.startswith(prefix):
                continue
            rel = name if append_prefix or not prefix else name[len(prefix):].lstrip("/")
            written.append(self.download_file(name, root / rel))
        return written

    def get_all_logs(self, destination: str | os.PathLike[str] | None = None) -> list[str]:
        """Write the run's logs (and those of its steps or children) into ``destination`` (default: a folder
        named after the run); returns the paths."""
        root = Path(destination if destination is not None else self.id)
        written = [self.download_file(name, root / name) for name in self._log_files()]
        written += [self.download_file(n, root / n) for n in self.get_file_names() if n.startswith("logs/")
                    and n not in self._log_files()]
        return written


    # -- details -------------------------------------------------------------------------
    def _run_definition(self) -> dict[str, Any]:
        return {}

    def get_details(self) -> dict[str, Any]:
        """Azure ML's details dict: ``runId``, ``status``, ``startTimeUtc``, ``endTimeUtc`` once ended,
        ``properties``, ``runDefinition``, ``logFiles``..., plus headrace's ``experimentName``, ``kind``, ``tags`` and
        ``loggedModels`` (the MLflow models it logged: ``id``, ``name``, ``uri``, ``status``...)."""
        r = self._refresh()
        out = run_details.details(r, target=self._run_definition().get("target"), extra={
            "experimentName": r.experiment_name, "kind": r.kind.value, "tags": r.tags,
            "parentRunId": r.parent_run_id, "createdTimeUtc": run_details.utc(r.created_at), "runSource": r.run_source,
            "logFiles": dict.fromkeys(self._log_files(), ""),
            "loggedModels": run_details.logged_models(self._backend.logged_models(r.experiment_id, r.id)),
        })
        out["runDefinition"] = self._run_definition()
        return out

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with the text of each log in ``logFiles``."""
        out = self.get_details()
        out["logFiles"] = {name: self._read_file(name) for name in self._log_files()}
        return out

    # -- ending --------------------------------------------------------------------------
    def _upload_outputs(self) -> None:
        folder = Path(self._outputs or "./outputs")
        if self._record.kind is RunKind.INTERACTIVE and folder.is_dir():
            self.upload_folder("outputs", folder)

    def complete(self, _set_status: bool = True) -> None:
        """End the run Completed (an interactive run uploads its ``./outputs`` folder first). On a run an
        agent executes, nothing changes: it ends when its steps do."""
        self._upload_outputs()
        self._record = self._backend.end_run(self.id, "Completed")

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """End the run Failed with ``error_details`` (a run an agent executes is canceled)."""
        self._upload_outputs()
        self._record = self._backend.end_run(self.id, "Failed", str(error_details or error_code or "failed"))

    def cancel(self) -> None:
        """Cancel the run (a running script or pipeline is stopped)."""
        self._record = self._backend.end_run(self.id, "Canceled", "canceled on request")

    def flush(self, timeout_seconds: int = 300) -> None:
        """Values are sent as they are logged: nothing to flush."""

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, _tb: Any) -> None:
        if self._refresh().status.is_terminal:
            return
        if exc is None:
            self.complete()
        else:
            self.fail(repr(exc))

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
        from headrace.sdk.runs import StepRun

        step = getattr(self, "name", None) if isinstance(self, StepRun) else None
        run_id = self.parent.id if isinstance(self, StepRun) else self.id
        return register_run_model(self.experiment.workspace, run_id, step, model_name, model_path, tags=tags,
                                  properties=properties, model_framework=model_framework,
                                  model_framework_version=model_framework_version, description=description,
                                  datasets=datasets, sample_input_dataset=sample_input_dataset,
                                  sample_output_dataset=sample_output_dataset)

    # -- children ------------------------------------------------------------------------
    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: str | None = None) -> Run:
        """Start an interactive child run of this run (its ``parent`` is this run)."""
        record = self._backend.start_run(self.experiment.name, parent_run_id=self.id, description=name)
        return Run(self.experiment, record.id, _record=record, outputs=outputs)

    def get_children(self, recursive: bool = False, tags: str | dict[str, Any] | None = None,
                     properties: str | dict[str, Any] | None = None, type: str | None = None,  # noqa: A002
                     status: str | None = None, _rehydrate_runs: bool = True) -> Iterator[Run]:
        """The child runs (a generator, newest first), filtered as Azure ML filters: by tag or property (a name,
        or ``{name: value}`` pairs), by ``type`` and by ``status``; ``recursive`` goes down the whole tree."""
        for record in self._backend.list_child_runs(self.id):
            child = run_for(self.experiment, record)
            if (run_details.matches(record.tags, tags) and run_details.matches(record.properties, properties)
                    and (type is None or child.type == type) and (status is None or record.status.value == status)):
                yield child
            if recursive:
                yield from child.get_children(True, tags, properties, type, status)

    def wait_for_completion(self, show_output: bool = False, wait_post_processing: bool = False,
                            raise_on_error: bool = True, timeout_seconds: float | None = None) -> dict[str, Any]:
        """Wait until the run ends; returns ``get_details()``.

        Raises:
            RunError: the run failed (``raise_on_error``); StepFailedError names the script's exit code and stderr.
            RunTimeoutError: ``timeout_seconds`` elapsed first.
        """
        from headrace.sdk.waiting import wait_for_run

        wait_for_run(self, show_output, timeout_seconds, raise_on_error)
        return self.get_details()

    def __repr__(self) -> str:
        return (f"Run(id={self.id!r}, experiment={self.experiment.name!r}, type={self.type!r}, "
                f"status={self._record.status.value!r})")


def run_for(experiment: Any, record: RunRecord) -> Run:
    """The SDK object of a run record, by its kind."""
    from headrace.sdk.runs import PipelineRun
    from headrace.sdk.runs.script import ScriptRun
    from headrace.sdk.runs.sweep import HyperDriveRun

    cls = {RunKind.PIPELINE: PipelineRun, RunKind.SCRIPT: ScriptRun, RunKind.SWEEP: HyperDriveRun}.get(record.kind, Run)
    return cls(experiment, record.id, _record=record)


def get_run(experiment: Any, run_id: str, rehydrate: bool = True, clean_up: bool = True) -> Run:
    """Azure ML's ``azureml.core.get_run``: the run ``run_id`` of ``experiment`` (see ``Run.get``).

    Raises:
        NotFoundError: no such run.
    """
    return run_for(experiment, experiment.workspace._backend.get_run(run_id))


def _only(metrics: dict[str, Any], name: str | None) -> dict[str, Any]:
    return metrics if name is None else {k: v for k, v in metrics.items() if k == name}
