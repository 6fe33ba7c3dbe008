"""What a step process is given and leaves behind: its environment variables and its context files' names.

Apart from ``compute`` (which re-exports them) so that code running inside a step (the ParallelRunStep driver)
reads them without importing the task types and the store's records (~15 ms at every step start).
"""

# Environment variables a step process receives (read back by ``Run.get_context()``).
ENV_RUN_ID = "HEADRACE_RUN_ID"
ENV_STEP_RUN_ID = "HEADRACE_STEP_RUN_ID"
ENV_STEP_NAME = "HEADRACE_STEP_NAME"
ENV_EXPERIMENT = "HEADRACE_EXPERIMENT_NAME"
ENV_CONTEXT_DIR = "HEADRACE_CONTEXT_DIR"  # folder where the step appends metrics.jsonl / tags.jsonl
ENV_RUN_KIND = "HEADRACE_RUN_KIND"  # "script": the step is a script run's only step, and is that run in the script
ENV_PARENT_RUN_ID = "HEADRACE_PARENT_RUN_ID"  # a script run's parent (a sweep), when it has one
ENV_DASK_WORKER = "HEADRACE_DASK_WORKER"  # on a Dask target: the address of the worker running the step
ENV_DASK_RESOURCES = "HEADRACE_DASK_RESOURCES"  # on a Dask target: the step's resources (JSON; its nodes ask the same)
ENV_REMOTE_NODE = "HEADRACE_PARALLEL_REMOTE_NODE"  # "1" in a ParallelRunStep node on another Dask worker
ENV_ENVIRONMENT_SPEC = "HEADRACE_ENVIRONMENT_SPEC"  # the step's environment spec (JSON), when it has one
METRICS_FILE = "metrics.jsonl"
TAGS_FILE = "tags.jsonl"
PARAMS_FILE = "params.jsonl"  # MLflow params logged in the step (``mlflow.log_param``)
MLFLOW_PARAMS_PROPERTY = "mlflow.params"
"""The run (or step run) property holding its MLflow params (name -> value), immutable as MLflow's are."""
MLFLOW_STEP_SCHEME = "headrace-step"
"""The MLflow tracking URI scheme of a step's own run: headrace's tracking-store plugin
(``headrace.sdk.mlflow``) writes what MLflow logs into the context folder, like ``Run.get_context()``."""
PROPERTIES_FILE = "properties.jsonl"
STATUS_FILE = "status.jsonl"  # run.complete() / fail() / cancel() called in the script
MODELS_FILE = "models.jsonl"  # run.register_model() called in the script: registered when the step ends
LOGGED_MODELS_FILE = "logged_models.jsonl"  # MLflow logged models of the step (``engine.logged_models``)
LOGGED_MODELS_DIR = "logged-models"  # their files, ``<id>/artifacts/...``: uploaded when the step ends
CHILDREN_FILE = "children.jsonl"  # run.child_run() in the script: child runs, recorded as they are logged
MODEL_REQUESTS = "model-requests"  # Model.get_model_path() in the script: <id>.json, answered by the agent
FILES_DIR = "files"  # run.upload_file() copies here; kept as run files when the step ends
CHILD_FILES_DIR = "child_files"  # <child run id>/...: what a child run started in the script uploaded
CAPTURED_FOLDERS = ("outputs", "logs")
"""Folders of the script's working directory kept as run files when it ends (Azure ML's convention)."""
LOG_FILES = ("stdout.txt", "stderr.txt", "execution.log")
