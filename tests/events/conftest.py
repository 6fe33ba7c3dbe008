"""Fixtures for events tests: services on a fresh home that allows loopback webhooks, a published
pipeline whose parameters triggers can map, and a dispatcher driven by hand (``run_pending``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace import Pipeline, PipelineParameter, PythonScriptStep
from headrace.config import load_settings
from headrace.services import publishing
from headrace.services.bundle import Services
from headrace.services.events import EventDispatcher
from headrace.wiring import build_services

SCRIPT = "import sys\nprint(sys.argv[1:])\n"


@pytest.fixture
def svc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("HEADRACE_WEBHOOKS__ALLOWED_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("HEADRACE_WEBHOOKS__FIRST_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("HEADRACE_WEBHOOKS__MAX_BACKOFF_SECONDS", "0.02")
    monkeypatch.setenv("HEADRACE_WEBHOOKS__RETRY_SECONDS", "0.05")
    services = build_services(load_settings(home=tmp_path / "home", cache_seconds=0))
    yield services
    services.store.close()


@pytest.fixture
def published(svc: Services, write_scripts) -> str:
    folder = write_scripts({"release.py": SCRIPT})
    blob = PipelineParameter("blob", default_value="none")
    n = PipelineParameter("n", default_value=1)
    step = PythonScriptStep(script_name="release.py", source_directory=str(folder), name="release",
                            arguments=["--blob", blob, "--n", n])
    return publishing.publish_pipeline(svc, Pipeline(workspace=None, steps=[step]), name="release").id


@pytest.fixture
def dispatcher(svc: Services) -> Iterator[EventDispatcher]:
    d = EventDispatcher(svc, requeue_on_start=False)
    yield d
    d.stop()
