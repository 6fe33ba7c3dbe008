"""Publish the example pipeline, put it behind the versioned endpoint ``iris-training``, schedule it.

Run after ``pipeline.py`` (which uploads the data). Each call publishes a new version of the
pipeline; the first call creates the endpoint, later calls add a version and make it the default.
The first call also creates the seed's two schedules on the endpoint (they run its default version):
``iris-every-15-min`` (time based) and ``iris-on-new-data`` (a run for each file added or changed
in ``workspaceblobstore/incoming``, whose path becomes the ``input_data`` parameter).
They fire while ``headrace server`` (or ``headrace scheduler``) runs. Prints the endpoint's REST URL.

    HEADRACE_HOME=.headrace python examples/ml-pipeline/publish.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import build_pipeline  # noqa: E402

from headrace import Datastore, PipelineEndpoint, Schedule, ScheduleRecurrence, Workspace  # noqa: E402
from headrace.errors import NotFoundError  # noqa: E402

ENDPOINT = "iris-training"


def main() -> int:
    ws = Workspace.from_config()
    published = build_pipeline(ws).publish(name="iris-training", description="Iris: prepare, train, evaluate",
                                           version="1")
    try:
        ep = PipelineEndpoint.get(ws, name=ENDPOINT)
        if published.id not in {p for _, p in ep.pipeline_version_list}:
            ep.add_default(published)
    except NotFoundError:
        ep = PipelineEndpoint.publish(ws, name=ENDPOINT, description="The quickstart's pipeline",
                                      pipeline=published)
    print(f"published pipeline {published.id}; endpoint {ep.name} default version {ep.default_version}")
    schedule(ws, ep)
    print(ep.endpoint)
    return 0


def schedule(ws: Workspace, ep: PipelineEndpoint) -> None:
    """Create the two schedules unless they exist (schedules follow the endpoint's default version)."""
    existing = {s.name for s in Schedule.list(ws, pipeline_endpoint_id=ep.id)}
    if "iris-every-15-min" not in existing:
        Schedule.create_for_pipeline_endpoint(
            ws, name="iris-every-15-min", description="Based on time", pipeline_endpoint_id=ep.id,
            experiment_name="iris-scheduled", recurrence=ScheduleRecurrence(frequency="Minute", interval=15))
    if "iris-on-new-data" not in existing:
        datastore = Datastore(ws, "workspaceblobstore")
        readme = Path(__file__).resolve().parent / "data" / "incoming-README.txt"
        datastore.upload_files([readme], target_path="incoming", overwrite=True)  # the folder must exist
        Schedule.create_for_pipeline_endpoint(
            ws, name="iris-on-new-data", description="Based on data", pipeline_endpoint_id=ep.id,
            experiment_name="iris-reactive", datastore=datastore, path_on_datastore="incoming",
            polling_interval=0.1, data_path_parameter_name="input_data")
    for s in Schedule.list(ws, pipeline_endpoint_id=ep.id):
        print(f"schedule {s.name}: {s.describe()}; next: {s.next_run_time}")


if __name__ == "__main__":
    sys.exit(main())
