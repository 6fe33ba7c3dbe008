"""ParallelRunStep: batch processing of a dataset in mini-batches over long-lived worker processes.

``ParallelRunConfig`` and ``ParallelRunStep`` are Azure ML's classes; ``EntryScript`` is what entry scripts
import from ``azureml_user.parallel_run`` on Azure ML (the logger and the output folder).
"""

from headrace.sdk.parallel.config import ParallelRunConfig
from headrace.sdk.parallel.entry_script import EntryScript
from headrace.sdk.parallel.step import ParallelRunStep

__all__ = ["EntryScript", "ParallelRunConfig", "ParallelRunStep"]
