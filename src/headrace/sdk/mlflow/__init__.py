"""headrace's MLflow tracking-store plugins (registered through the ``mlflow.tracking_store`` entry point).

- ``headrace:///path/to/home``: an embedded workspace (``ws.get_mlflow_tracking_uri()``): MLflow calls
  go straight to the workspace's services in the calling process, no server needed (``store.py``).
- ``headrace-step:///path/to/context``: what every step gets in ``MLFLOW_TRACKING_URI``, with its step
  run id in ``MLFLOW_RUN_ID``: MLflow writes what it logs into the step's context folder, as
  ``Run.get_context()`` does, and the agent records it when the step ends (``step_store.py``).

A server is reached with MLflow's own REST client (``http://server``), the headrace token in
``MLFLOW_TRACKING_TOKEN``. These modules import ``mlflow``: only MLflow loads them.
"""
