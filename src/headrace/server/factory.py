"""App factory for ``headrace server --workers N``: each uvicorn worker process builds its own
services, agent and scheduler from the options the command line put in the environment."""

from __future__ import annotations

import json
import os

from fastapi import FastAPI

OPTIONS_ENV = "HEADRACE_SERVER_WORKER_OPTIONS"


def app_from_env() -> FastAPI:
    """Build one worker's app (called by uvicorn in each worker process)."""
    from headrace.config import load_settings
    from headrace.server.app import create_app
    from headrace.services.resident import ResidentListener
    from headrace.wiring import build_agent, build_dispatcher, build_scheduler, build_services

    opts = json.loads(os.environ[OPTIONS_ENV])
    settings = load_settings(home=opts["home"], db_url=opts["db"])
    svc = build_services(settings)
    agent = None if opts["no_agent"] else build_agent(svc, orphan_policy=opts["orphan_policy"])
    listener = (ResidentListener(svc, settings.db_url, settings.effective_db_url, agent)
                if agent is not None and opts.get("listen", True) else None)
    scheduler = None if opts.get("no_scheduler") else build_scheduler(svc)
    dispatcher = None if opts.get("no_scheduler") else build_dispatcher(svc, base_url=opts["public_url"])
    return create_app(svc, auth=opts["auth"], public_url=opts["public_url"], agent=agent, scheduler=scheduler,
                      dispatcher=dispatcher,
                      max_body_bytes=opts["max_body_bytes"], allowed_hosts=opts.get("allowed_hosts"),
                      local_secret=opts.get("local_secret"), listener=listener)
