"""The table of Azure ML SDK v1 module paths and the names each one serves, and the import hook serving them.

Every name resolves to the object of the same name exported by ``headrace``. A name Azure ML has in a module
but headrace does not provide (yet) raises an ImportError that says so and points at the migration guide,
instead of Python's bare "cannot import name". Modules are made on first import by a meta-path finder, the
pattern of ``six.moves``: one table, no file per module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

GUIDE = "docs/migrating-from-azureml.md"

_RUN_NAMES = ["Run", "get_run"]
_DATA_NAMES = ["DataPath", "DataPathComputeBinding"]
_SCHEDULE_NAMES = ["Schedule", "ScheduleRecurrence", "TimeZone"]
_COMPUTE_NAMES = ["AmlCompute", "ComputeTarget", "ComputeTargetException", "DaskCompute", "RemoteCompute",
                  "ComputeInstance", "AksCompute", "DatabricksCompute", "KubernetesCompute", "DataFactoryCompute"]
_HYPERDRIVE_NAMES = [
    "BanditPolicy", "BayesianParameterSampling", "EarlyTerminationPolicy", "GridParameterSampling",
    "HyperDriveConfig", "HyperDriveRun", "HyperParameterSampling", "MedianStoppingPolicy",
    "NoTerminationPolicy", "PrimaryMetricGoal", "RandomParameterSampling", "TruncationSelectionPolicy",
    "choice", "lognormal", "loguniform", "normal", "randint", "qlognormal", "qloguniform", "qnormal",
    "quniform", "uniform",
]

#: Azure ML module path -> the public names it has there (headrace serves each by the same name).
MODULES: dict[str, list[str]] = {
    "azureml.core": [
        "VERSION", "ComputeTarget", "Dataset", "Datastore", "Environment", "Experiment", "Model", "Run",
        "RunConfiguration", "ScriptRun", "ScriptRunConfig", "Workspace", "get_run",
    ],
    "azureml.core.authentication": ["InteractiveLoginAuthentication", "ServicePrincipalAuthentication",
                                    "AzureCliAuthentication", "MsiAuthentication", "TokenAuthentication"],
    "azureml.core.compute": _COMPUTE_NAMES,
    "azureml.core.compute.amlcompute": ["AmlCompute"],
    "azureml.core.compute.datafactory": ["DataFactoryCompute"],
    "azureml.core.compute_target": ["ComputeTargetException"],
    "azureml.core.conda_dependencies": ["CondaDependencies"],
    "azureml.core.dataset": ["Dataset"],
    "azureml.core.datastore": ["Datastore"],
    "azureml.core.environment": ["CondaDependencies", "Environment", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE"],
    "azureml.core.experiment": ["Experiment"],
    "azureml.core.model": ["Model"],
    "azureml.core.run": _RUN_NAMES,
    "azureml.core.runconfig": ["RunConfiguration", "DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "DockerConfiguration",
                               "MpiConfiguration",
                               "DataReferenceConfiguration", "CondaDependencies"],
    "azureml.core.script_run": ["ScriptRun"],
    "azureml.core.script_run_config": ["ScriptRunConfig"],
    "azureml.core.workspace": ["Workspace"],
    "azureml.data": ["FileDataset", "TabularDataset", "OutputFileDatasetConfig"],
    "azureml.data.data_reference": ["DataReference"],
    "azureml.data.datapath": _DATA_NAMES,
    "azureml.data.dataset_consumption_config": ["DatasetConsumptionConfig"],
    "azureml.data.file_dataset": ["FileDataset"],
    "azureml.data.output_dataset_config": ["OutputFileDatasetConfig"],
    "azureml.data.tabular_dataset": ["TabularDataset"],
    "azureml.exceptions": ["ComputeTargetException", "UserErrorException"],
    "azureml.pipeline": [],
    "azureml.pipeline.core": [
        "Pipeline", "PipelineData", "PipelineDraft", "PipelineEndpoint", "PipelineParameter", "PipelineRun",
        "PortDataReference", "PublishedPipeline", "StepRun", "StepRunOutput", *_SCHEDULE_NAMES,
        "PipelineStep", "StepSequence", "TrainingOutput", "PipelineDataset",
        "Module", "ModuleVersion", "ModuleVersionDescriptor",
    ],
    "azureml.pipeline.core.builder": ["PipelineData", "PipelineStep", "StepSequence"],
    "azureml.pipeline.core.graph": ["PipelineParameter", "PortDataReference", "PublishedPipeline",
                                    "TrainingOutput", "PipelineDataset", "InputPortDef", "OutputPortDef"],
    "azureml.pipeline.core.module": ["Module", "ModuleVersion", "ModuleVersionDescriptor"],
    "azureml.pipeline.core.pipeline": ["Pipeline"],
    "azureml.pipeline.core.pipeline_draft": ["PipelineDraft"],
    "azureml.pipeline.core.pipeline_endpoint": ["PipelineEndpoint"],
    "azureml.pipeline.core.run": ["PipelineRun", "StepRun", "StepRunOutput"],
    "azureml.pipeline.core.schedule": _SCHEDULE_NAMES,
    "azureml.pipeline.steps": ["PythonScriptStep", "ParallelRunConfig", "ParallelRunStep", "HyperDriveStep",
                               "HyperDriveStepRun",
                               "CommandStep", "DataTransferStep", "ModuleStep", "EstimatorStep", "AutoMLStep"],
    "azureml.pipeline.steps.command_step": ["CommandStep"],
    "azureml.pipeline.steps.data_transfer_step": ["DataTransferStep"],
    "azureml.pipeline.steps.module_step": ["ModuleStep"],
    "azureml.train": [],
    "azureml.train.hyperdrive": _HYPERDRIVE_NAMES,
    "azureml.widgets": ["RunDetails"],
}


class NotProvidedError(ImportError):
    """An Azure ML name that headrace does not provide."""


def _missing(module: str, name: str) -> NotProvidedError:
    return NotProvidedError(
        f"{module}.{name} is Azure ML's, and headrace does not provide it (yet); see {GUIDE} in the "
        f"headrace repository for what is supported and what to use instead", name=name, path=None)


def _module(fullname: str) -> types.ModuleType:
    names = MODULES[fullname]
    module = types.ModuleType(fullname, f"Azure ML's ``{fullname}``, served by headrace.")
    children = [m.rsplit(".", 1)[1] for m in MODULES if m.rsplit(".", 1)[0] == fullname]
    if children:
        module.__path__ = []  # a package, so its submodules import
    module.__all__ = list(names)

    def __getattr__(name: str) -> Any:
        if name in children:
            return importlib.import_module(f"{fullname}.{name}")
        if name not in names:
            raise AttributeError(f"module {fullname!r} has no attribute {name!r}")
        import headrace

        try:
            value = getattr(headrace, name)
        except AttributeError:
            raise _missing(fullname, name) from None
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*names, *children})

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    module.__dir__ = __dir__  # type: ignore[method-assign]
    return module


class AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and makes the modules of :data:`MODULES` (``azureml`` itself is the real package)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=any(
            m.startswith(fullname + ".") for m in MODULES))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _module(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())
