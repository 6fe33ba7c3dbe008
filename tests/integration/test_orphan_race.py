"""Two agents recovering the same orphaned run: exactly one wins, and a late one never resets a run
another agent has claimed since. Each agent has its own store on one database: the home's SQLite
file, and PostgreSQL when ``HEADRACE_TEST_PG_URL`` is set (CI sets it)."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from headrace import clock
from headrace.config import load_settings
from headrace.engine.agent import Agent
from headrace.services.bundle import Services
from headrace.storage.records import RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.wiring import build_services

PG_URL = os.environ.get("HEADRACE_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
GONE = "another-host:4242:gone"  # an agent on another host whose lease has expired


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield None  # the home's SQLite file
        return
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but HEADRACE_TEST_PG_URL is not set", pytrace=False)
        pytest.skip("HEADRACE_TEST_PG_URL is not set")
    name = f"headrace_orphan_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def open_services(tmp_path: Path, db_url):
    """``open_services()``: services (with their own store) on the one home and database."""
    opened: list[Services] = []

    def make() -> Services:
        svc = build_services(load_settings(home=tmp_path / "home", db_url=db_url, cache_seconds=0))
        opened.append(svc)
        return svc

    yield make
    for svc in opened:
        svc.store.close()


class _PausedStore:
    """The agent's store, except that listing runs waits on ``pause`` after reading: the agent
    acts on what it saw, however late (what a slow or descheduled worker does)."""

    def __init__(self, inner: Any, pause: Any):
        self._inner = inner
        self._pause = pause

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def list_runs(self, **filters: Any):
        page = self._inner.list_runs(**filters)
        if filters.get("parent_run_id") is None:  # the orphan listing (not a recovery's look for child runs)
            self._pause()
        return page


def _orphan(svc: Services) -> tuple[RunRecord, StepRunRecord]:
    """A Running run whose agent is gone (its lease expired), its one step Running."""
    store = svc.store
    exp = store.get_or_create_experiment("orphans")
    pipeline = store.get_or_create_pipeline(uuid.uuid4().hex, {"steps": []})
    now = clock.now()
    run = RunRecord(id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name,
                    pipeline_id=pipeline.id, parameters={}, status=RunStatus.QUEUED, created_at=now)
    step = StepRunRecord(id=uuid.uuid4().hex, run_id=run.id, name="train", status=StepStatus.NOT_STARTED,
                         created_at=now)
    store.create_run(run, [step])
    store.claim_run(GONE, now - timedelta(seconds=5), run_id=run.id)
    return run, store.update_step_run(step.id, status=StepStatus.RUNNING, started_at=now)


def _agent(svc: Services, store: Any, name: str) -> Agent:
    return Agent(store, svc.executor, agent_id=name, orphan_policy="requeue")


def test_a_late_recovery_never_resets_a_run_claimed_since(open_services):
    svc_a, svc_b, svc_c = open_services(), open_services(), open_services()
    run, step = _orphan(svc_a)
    b_saw_it, b_may_go = threading.Event(), threading.Event()

    def pause() -> None:
        b_saw_it.set()
        assert b_may_go.wait(30)

    late = _agent(svc_b, _PausedStore(svc_b.store, pause), "agent-b")
    found: list[list[str]] = []
    thread = threading.Thread(target=lambda: found.append(late.recover_orphans()))
    thread.start()
    try:
        assert b_saw_it.wait(30)  # b has listed the run as orphaned...
        assert _agent(svc_a, svc_a.store, "agent-a").recover_orphans() == [run.id]  # ...a re-queues it...
        claimed = svc_c.store.claim_run("agent-c", clock.now() + timedelta(seconds=30), run_id=run.id)
        assert claimed is not None  # ...and c claims it and starts its step
        svc_c.store.update_step_run(step.id, status=StepStatus.RUNNING, error=None)
    finally:
        b_may_go.set()
        thread.join(30)
    assert found == [[]]  # b recovered nothing
    now = svc_c.store.get_run(run.id)
    assert (now.status, now.agent_id, now.attempt) == (RunStatus.RUNNING, "agent-c", 2)
    assert svc_c.store.get_step_run(step.id).status is StepStatus.RUNNING


def test_two_agents_recovering_at_once_recover_a_run_once(open_services):
    svcs = [open_services() for _ in range(2)]
    orphans = [_orphan(svcs[0])[0].id for _ in range(5)]
    both_listed = threading.Barrier(2, timeout=30)
    agents = [_agent(svc, _PausedStore(svc.store, both_listed.wait), f"agent-{i}") for i, svc in enumerate(svcs)]
    found: list[list[str]] = [[], []]
    threads = [threading.Thread(target=lambda i=i: found[i].extend(agents[i].recover_orphans())) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(found[0] + found[1]) == sorted(orphans)  # each run recovered by exactly one agent
    for run_id in orphans:
        run = svcs[0].store.get_run(run_id)
        assert (run.status, run.agent_id) == (RunStatus.QUEUED, None)


def test_an_agent_recovers_its_own_run_it_no_longer_executes(open_services):
    # Its end could not be recorded (the store refused the writes until the agent gave up): the
    # agent's heartbeat renews the lease of every run it owns, so only the agent itself can notice.
    svc = open_services()
    agent = Agent(svc.store, svc.executor, agent_id="agent-a")
    run, step = _orphan(svc)
    mine = svc.store.take_over_run(run.id, owner=GONE, attempt=1, agent_id="agent-a",
                                   lease_until=clock.now() + timedelta(seconds=60))
    assert mine is not None
    assert agent.recover_orphans() == [run.id]
    ended = svc.store.get_run(run.id)
    assert (ended.status, ended.agent_id) == (RunStatus.FAILED, None)
    assert "could not record how this step ended" in svc.store.get_step_run(step.id).error
