"""headrace: self-hosted ML pipelines and LLM prompt flows.

The public names mirror Azure ML SDK v1 so that migrating code changes its imports only.
Imports are lazy: ``import headrace`` stays cheap (no SQLAlchemy, no fsspec) until a name is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

VERSION = __version__
"""headrace's version, under the name Azure ML code prints (``azureml.core.VERSION``)."""

_EXPORTS = {
    "AmlCompute": "headrace.sdk.compute",
    "CommandStep": "headrace.core.command_step",
    "DaskCompute": "headrace.sdk.compute",
    "ComputeTarget": "headrace.sdk.compute",
    "ComputeTargetException": "headrace.errors",
    "CondaDependencies": "headrace.core.conda",
    "Environment": "headrace.sdk.environments",
    "DEFAULT_CPU_IMAGE": "headrace.core.runconfig",
    "DEFAULT_GPU_IMAGE": "headrace.core.runconfig",
    "RunConfiguration": "headrace.core.runconfig",
    "DataPath": "headrace.core.params",
    "DataPathComputeBinding": "headrace.core.params",
    "DataFactoryCompute": "headrace.core.data_transfer",
    "DataTransferStep": "headrace.core.data_transfer",
    "DataType": "headrace.sdk.dataset_types",
    "Dataset": "headrace.sdk.dataset",
    "DatasetConsumptionConfig": "headrace.sdk.dataset_input",
    "FileDataset": "headrace.sdk.dataset",
    "OutputFileDatasetConfig": "headrace.core.output_dataset",
    "TabularDataset": "headrace.sdk.dataset",
    "DataReferenceConfiguration": "headrace.core.runconfig",
    "DockerConfiguration": "headrace.core.runconfig",
    "DataReference": "headrace.core.bindings",
    "InputPortBinding": "headrace.core.bindings",
    "Datastore": "headrace.sdk.datastore",
    "Experiment": "headrace.sdk.experiment",
    "InteractiveLoginAuthentication": "headrace.sdk.authentication",
    "Model": "headrace.sdk.models",
    "Module": "headrace.sdk.modules",
    "ModuleStep": "headrace.core.module_step",
    "ModuleVersion": "headrace.sdk.modules",
    "ModuleVersionDescriptor": "headrace.sdk.modules",
    "InputPortDef": "headrace.core.module_ports",
    "OutputPortDef": "headrace.core.module_ports",
    "MpiConfiguration": "headrace.core.runconfig",
    "Pipeline": "headrace.core.pipeline",
    "PipelineData": "headrace.core.params",
    "PipelineDraft": "headrace.sdk.draft",
    "PipelineEndpoint": "headrace.sdk.published",
    "PipelineParameter": "headrace.core.params",
    "ParallelRunConfig": "headrace.sdk.parallel",
    "ParallelRunStep": "headrace.sdk.parallel",
    "PipelineRun": "headrace.sdk.runs",
    "PublishedPipeline": "headrace.sdk.published",
    "PythonScriptStep": "headrace.core.step",
    "Run": "headrace.sdk.runs",
    "RunDetails": "headrace.sdk.widgets",
    "Schedule": "headrace.sdk.schedule",
    "ScheduleRecurrence": "headrace.core.recurrence",
    "ScriptRun": "headrace.sdk.runs.script",
    "BanditPolicy": "headrace.core.sweeps",
    "BayesianParameterSampling": "headrace.core.sweeps",
    "EarlyTerminationPolicy": "headrace.core.sweeps",
    "GridParameterSampling": "headrace.core.sweeps",
    "HyperDriveConfig": "headrace.core.sweeps",
    "HyperParameterSampling": "headrace.core.sweeps",
    "MedianStoppingPolicy": "headrace.core.sweeps",
    "NoTerminationPolicy": "headrace.core.sweeps",
    "PrimaryMetricGoal": "headrace.core.sweeps",
    "RandomParameterSampling": "headrace.core.sweeps",
    "TruncationSelectionPolicy": "headrace.core.sweeps",
    "choice": "headrace.core.sweeps",
    "lognormal": "headrace.core.sweeps",
    "loguniform": "headrace.core.sweeps",
    "normal": "headrace.core.sweeps",
    "randint": "headrace.core.sweeps",
    "qlognormal": "headrace.core.sweeps",
    "qloguniform": "headrace.core.sweeps",
    "qnormal": "headrace.core.sweeps",
    "quniform": "headrace.core.sweeps",
    "uniform": "headrace.core.sweeps",
    "HyperDriveRun": "headrace.sdk.runs.sweep",
    "HyperDriveStep": "headrace.sdk.runs.sweep_step",
    "HyperDriveStepRun": "headrace.sdk.runs.sweep_step",
    "TrainingOutput": "headrace.core.sweeps",
    "ScriptRunConfig": "headrace.core.script_run",
    "get_run": "headrace.sdk.runs.run",
    "StepRun": "headrace.sdk.runs",
    "StepRunOutput": "headrace.sdk.step_outputs",
    "PortDataReference": "headrace.sdk.runs",
    "TimeZone": "headrace.core.timezones",
    "Trigger": "headrace.sdk.events",
    "Webhook": "headrace.sdk.events",
    "Workspace": "headrace.sdk.workspace",
}

__all__ = sorted([*_EXPORTS, "VERSION"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'headrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
