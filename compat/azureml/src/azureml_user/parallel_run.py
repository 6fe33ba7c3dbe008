"""``from azureml_user.parallel_run import EntryScript`` in a ParallelRunStep entry script: headrace's."""

from headrace.sdk.parallel import EntryScript

__all__ = ["EntryScript"]
