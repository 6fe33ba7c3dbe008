"""Publish the example pipeline and put it behind the versioned endpoint ``iris-training``.

Run after ``pipeline.py`` (which uploads the data). Each call publishes a new version of the
pipeline; the first call creates the endpoint, later calls add a version and make it the default.
Prints the endpoint's REST URL.

    HEADRACE_HOME=.headrace python examples/ml-pipeline/publish.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline import build_pipeline  # noqa: E402

from headrace import PipelineEndpoint, Workspace  # noqa: E402
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
    print(ep.endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
