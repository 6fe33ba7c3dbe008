"""Fixtures for events tests: services on a fresh home that allows loopback webhooks, a published
pipeline whose parameters triggers can map, a dispatcher driven by hand (``run_pending``) and a clock
that moves only when told to (``clock``: tests never sleep)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headrace import Pipeline, PipelineParameter, PythonScriptStep
from headrace import clock as clock_module
from headrace.config import load_settings
from headrace.services import publishing
from headrace.services.bundle import Services
from headrace.services.events import EventDispatcher
from headrace.wiring import build_services

SCRIPT = "import sys\nprint(sys.argv[1:])\n"
T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


class FakeClock:
    """``headrace.clock`` frozen at ``now`` until ``advance`` moves it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock(T0)
    clock_module.set_clock(fake)
    yield fake
    clock_module.set_clock(None)


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
