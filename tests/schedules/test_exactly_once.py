"""Exactly once across schedulers: two processes' worth of schedulers on one database, and kill -9.

The database is SQLite here and PostgreSQL too when ``HEADRACE_TEST_PG_URL`` is set (CI sets it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from headrace import ScheduleRecurrence
from headrace.services import publishing
from headrace.services import schedules as svc_schedules
from headrace.services.scheduler import Scheduler

from .conftest import PG_URL, T0, new_services

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield None  # the home's SQLite file
        return
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but HEADRACE_TEST_PG_URL is not set", pytrace=False)
        pytest.skip("HEADRACE_TEST_PG_URL is not set")
    name = f"headrace_sched_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_schedulers_never_fire_a_slot_twice(tmp_path, pipeline, clock, db_url):
    home = tmp_path / "home"
    first, second = new_services(home, db_url), new_services(home, db_url)
    published = publishing.publish_pipeline(first, pipeline, name="p").id
    made = [
        svc_schedules.create_schedule(first, name=f"s{i}", experiment_name="e", published_pipeline_id=published,
                                      recurrence=ScheduleRecurrence(frequency="Minute", interval=1 + i % 3))
        for i in range(12)
    ]
    schedulers = [Scheduler(first, batch_size=2), Scheduler(second, batch_size=2)]
    for _ in range(10):
        clock.advance(minutes=1)
        errors: list[BaseException] = []

        def run(s: Scheduler, errors: list[BaseException] = errors) -> None:
            try:
                s.run_pending()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    for i, s in enumerate(made):
        fired = first.store.list_runs(schedule_id=s.id, limit=100)[0]
        slots = sorted(r.tags["headrace.scheduled_time"] for r in fired)
        interval = 1 + i % 3
        expected = [(T0 + timedelta(minutes=k)).isoformat() for k in range(interval, 11, interval)]
        assert slots == expected, s.name


CRASHING_SCHEDULER = textwrap.dedent('''
    import os, sys
    from datetime import datetime
    from headrace import clock
    from headrace.config import load_settings
    from headrace.services.scheduler import Scheduler
    from headrace.wiring import build_services

    # A fixed instant mid-hour: the slot it fires must still be the latest when its lease has expired.
    clock.set_clock(lambda: datetime.fromisoformat(sys.argv[3]))
    svc = build_services(load_settings(home=sys.argv[1], db_url=sys.argv[2] or None))
    # Die the hard way right after the run is created, before the schedule's position is saved.
    Scheduler(svc, after_fire=lambda record, run: os._exit(9)).run_pending()
    sys.exit("the scheduler did not fire")
''')


def test_kill_9_between_run_created_and_position_saved(tmp_path, pipeline, clock, db_url):
    home = tmp_path / "home"
    svc = new_services(home, db_url)
    published = publishing.publish_pipeline(svc, pipeline, name="p").id
    s = svc_schedules.create_schedule(svc, name="s", experiment_name="e", published_pipeline_id=published,
                                      recurrence=ScheduleRecurrence(frequency="Hour", interval=1))
    # Make it due for the child process, whose clock stands at the middle of an hour.
    svc.store.update_schedule(s.id, next_fire_at=T0.replace(year=2020))
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCHEDULER)
    child_now = T0.replace(minute=30, second=0, microsecond=0)
    child = subprocess.run([sys.executable, str(script), str(home), db_url or "", child_now.isoformat()],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    [run] = svc.store.list_runs(schedule_id=s.id)[0]
    left = svc.store.get_schedule(s.id)
    assert left.lease_owner is not None and left.next_fire_at.year == 2020  # claimed, never saved
    clock.set(left.lease_expires_at + timedelta(seconds=1))
    result = Scheduler(svc).run_pending()
    assert result.runs == [run.id]  # the same run, found again
    assert [r.id for r in svc.store.list_runs(schedule_id=s.id)[0]] == [run.id]
    tick = svc.store.list_schedule_ticks(s.id)[0]
    assert "already existed" in tick.reason


def test_file_fire_survives_kill_9(tmp_path, pipeline, clock, db_url):
    home = tmp_path / "home"
    svc = new_services(home, db_url)
    published = publishing.publish_pipeline(svc, pipeline, name="p").id
    folder = Path(svc.home) / "datastores" / "workspaceblobstore" / "incoming"
    folder.mkdir(parents=True)
    s = svc_schedules.create_schedule(svc, name="w", experiment_name="e", published_pipeline_id=published,
                                      datastore="workspaceblobstore", path_on_datastore="incoming",
                                      polling_interval=1, data_path_parameter_name="input_data")
    (folder / "new.csv").write_text("1\n")
    svc.store.update_schedule(s.id, next_fire_at=T0.replace(year=2020))
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SCHEDULER)
    child = subprocess.run([sys.executable, str(script), str(home), db_url or "", T0.isoformat()],
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr
    assert svc.store.get_schedule_files(s.id) == {}
    clock.set(svc.store.get_schedule(s.id).lease_expires_at + timedelta(seconds=1))
    Scheduler(svc).run_pending()
    [run] = svc.store.list_runs(schedule_id=s.id)[0]
    assert run.parameters["input_data"]["path"] == "incoming/new.csv"
    assert list(svc.store.get_schedule_files(s.id)) == ["incoming/new.csv"]
