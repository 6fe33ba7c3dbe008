"""Fixtures for schedule tests: services on a fresh home, a published pipeline, a fake clock.

No agent runs here: a fire is judged by the run records it creates (parameters, tags, counts),
which is what exactly-once is about. ``clock`` is a settable fake clock: tests never sleep.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from headrace import DataPath, Pipeline, PipelineParameter, PythonScriptStep
from headrace import clock as clock_module
from headrace.config import load_settings
from headrace.services import publishing
from headrace.services.bundle import Services
from headrace.services.scheduler import Scheduler
from headrace.storage.records import RunRecord
from headrace.wiring import build_services

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PG_URL = os.environ.get("HEADRACE_TEST_PG_URL")


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, value: datetime) -> None:
        self.now = value

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock(T0)
    clock_module.set_clock(fake)
    yield fake
    clock_module.set_clock(None)


def new_services(home: Path, db_url: str | None = None) -> Services:
    return build_services(load_settings(home=home, db_url=db_url, cache_seconds=0))


@pytest.fixture
def svc(tmp_path: Path, clock: FakeClock) -> Services:
    return new_services(tmp_path / "home")


@pytest.fixture
def incoming(svc: Services) -> Path:
    """The watched folder ``incoming`` in the default datastore (with one file already there)."""
    folder = svc.home / "datastores" / "workspaceblobstore" / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "old.csv").write_text("a,b\n1,2\n")
    return folder


@pytest.fixture
def pipeline(write_scripts) -> Pipeline:
    folder = write_scripts({"train.py": "print('hi')\n"})
    params = [
        PipelineParameter("input_data", default_value=DataPath("workspaceblobstore", "raw/data.csv")),
        PipelineParameter("when", default_value="never"),
        PipelineParameter("n", default_value=1),
    ]
    step = PythonScriptStep(script_name="train.py", source_directory=str(folder), name="train", inputs=[params[0]],
                            arguments=["--input", params[0], "--when", params[1], "--n", params[2]])
    return Pipeline(workspace=None, steps=[step])


@pytest.fixture
def published(svc: Services, pipeline: Pipeline) -> str:
    return publishing.publish_pipeline(svc, pipeline, name="train", version="1").id


@dataclass
class Runs:
    svc: Services

    def of(self, schedule_id: str) -> list[RunRecord]:
        return list(reversed(self.svc.store.list_runs(schedule_id=schedule_id, limit=1000)[0]))


@pytest.fixture
def runs(svc: Services) -> Runs:
    return Runs(svc)


@pytest.fixture
def scheduler(svc: Services) -> Callable[..., Scheduler]:
    def make(**options: object) -> Scheduler:
        return Scheduler(svc, **options)  # type: ignore[arg-type]

    return make
