"""``create_app(services)``: the REST API under ``/api/v1``, OpenAPI at ``/openapi.json``.

The app keeps no module-level state: everything it serves comes from the ``Services`` given (stored on
``app.state``), so tests build as many independent apps as they like.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI

from headrace import __version__
from headrace.engine.agent import Agent
from headrace.logs import get_logger
from headrace.server import ui
from headrace.server.deps import API_PREFIX, single_query_values
from headrace.server.errors import install_error_handlers
from headrace.server.hosts import HostGuardMiddleware
from headrace.server.middleware import BodyLimitMiddleware, CatchAllMiddleware
from headrace.server.openapi import ERROR_RESPONSES, MLFLOW_ERROR_RESPONSES, build_openapi
from headrace.server.routers import ROUTERS, mlflow
from headrace.services.bundle import Services
from headrace.services.events import EventDispatcher
from headrace.services.resident import ResidentListener
from headrace.services.scheduler import Scheduler

logger = get_logger(__name__)

MiB = 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 10 * MiB
"""Largest JSON body accepted (413 above)."""
DEFAULT_MAX_UPLOAD_BYTES = 100 * MiB
"""Largest raw upload (snapshot archive, datastore file) accepted (413 above)."""
DEFAULT_SHUTDOWN_GRACE_SECONDS = 10.0
"""On shutdown, how long runs in progress may take to end before the server exits anyway (the agent
that resumes them after a restart follows the orphan policy)."""


def create_app(
    svc: Services,
    *,
    auth: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    public_url: str | None = None,
    agent: Agent | None = None,
    scheduler: Scheduler | None = None,
    dispatcher: EventDispatcher | None = None,
    shutdown_grace_seconds: float = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    allowed_hosts: Sequence[str] | None = None,
    local_secret: str | None = None,
    listener: ResidentListener | None = None,
) -> FastAPI:
    """Build the REST API over ``svc``.

    Args:
        svc: the services (``wiring.build_services``).
        auth: require ``Authorization: Bearer <token>`` (except on ``/api/v1/health``).
        max_body_bytes: limit of JSON bodies; ``max_upload_bytes`` that of raw uploads.
        public_url: the address clients reach the server at, used in ``Endpoint`` URLs; default: the
            address each request came to.
        agent: an agent (``wiring.build_agent(svc)``) started and stopped with the app.
        scheduler: a scheduler (``wiring.build_scheduler(svc)``) started and stopped with the app.
        dispatcher: the events dispatcher (``wiring.build_dispatcher(svc)``: webhooks, notifications,
            event triggers) started and stopped with the app.
        shutdown_grace_seconds: how long shutdown waits for the agent's runs to end.
        allowed_hosts: ``Host`` names served besides loopback ones (``*.example.org`` for subdomains);
            None: any name with auth, loopback only without (see ``server.hosts``).
        local_secret: without auth, what the UI's CSRF values derive from; default: drawn at random
            (worker processes of one server share one).
        listener: the home's local socket for scripts (``services.resident``), served while the app runs
            (with ``agent``; of several worker processes, the first to start serves it).

    Example:
        >>> app = create_app(build_services(load_settings(home="h")))  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8765)  # doctest: +SKIP
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if agent is not None:
            agent.start()
        if listener is not None and listener.start():
            logger.info("scripts of the home hand their runs to this server's agent at %s", listener.path)
        if scheduler is not None:
            scheduler.start()
        if dispatcher is not None:
            dispatcher.start()
        try:
            yield
        finally:
            runtime = getattr(_app.state, "flow_runtime", None)
            if runtime is not None and hasattr(runtime.llm, "close_session"):
                await runtime.llm.close_session()
            if scheduler is not None:
                await anyio.to_thread.run_sync(scheduler.stop)
            if dispatcher is not None:
                await anyio.to_thread.run_sync(dispatcher.stop)
            if listener is not None:
                await anyio.to_thread.run_sync(listener.stop)
            if agent is not None:
                await anyio.to_thread.run_sync(_stop_agent, agent, shutdown_grace_seconds)

    app = FastAPI(title="headrace", version=__version__, lifespan=lifespan, redoc_url=None)
    app.state.services = svc
    app.state.auth = auth
    app.state.public_url = public_url.rstrip("/") if public_url else None
    app.state.agent = agent
    app.state.scheduler = scheduler
    app.state.dispatcher = dispatcher
    install_error_handlers(app)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)
    if allowed_hosts or not auth:
        app.add_middleware(HostGuardMiddleware, allowed_hosts=allowed_hosts, local_only=not auth)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERROR_RESPONSES,
                           dependencies=[Depends(single_query_values)])
    app.include_router(mlflow.router, responses=MLFLOW_ERROR_RESPONSES)  # MLflow's own paths, not under /api/v1
    ui.install(app, local_secret)
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    return app


def _stop_agent(agent: Agent, grace_seconds: float) -> None:
    """Stop claiming runs; give the runs in progress ``grace_seconds`` to end, then interrupt them:
    their running steps stop and the runs go back to the queue (finished steps kept)."""
    agent.stop(wait=False, interrupt=False)
    deadline = time.monotonic() + grace_seconds
    while agent.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    if agent.busy:
        logger.warning("shutting down with runs in progress: they go back to the queue and resume "
                       "when an agent starts")
    agent.stop(wait=True, interrupt=True)
