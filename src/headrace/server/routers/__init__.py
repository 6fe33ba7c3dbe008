"""The REST API's routers, all mounted under ``/api/v1`` by ``server.app.create_app``."""

from headrace.server.routers import (
    compute,
    connections,
    datasets,
    datastores,
    drafts,
    endpoints,
    environments,
    experiments,
    flows,
    health,
    models,
    modules,
    pipelines,
    remote,
    runs,
    schedules,
    submit,
    tracking,
    triggers,
    webhooks,
)

ROUTERS = (
    health.router, pipelines.router, endpoints.router, submit.router, runs.router, experiments.router,
    datastores.router, schedules.router, remote.router, drafts.router,
    flows.router, connections.router, datasets.router, compute.router,
    environments.router, models.router, modules.router, tracking.router, webhooks.router, triggers.router,
)
