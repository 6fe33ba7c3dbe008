"""A command imports what it needs and no more: start-up time is paid on every call of a script's loop.

The figures live in ``benchmarks/cli_latency.py``; these tests pin the structure behind them (which
modules a fresh process loads), which does not depend on the machine's speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from headrace.cli.tokens import RoleChoice
from headrace.storage.records import Role

# Run the console script's function, then report every module the process loaded.
DRIVER = """
import json, sys
sys.argv = ["headrace", *json.loads(sys.argv[1])]
from headrace.cli.entry import main
try:
    main()
except SystemExit:
    pass
finally:
    sys.__stderr__.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""

NEVER_FOR_READS = ("fastapi", "uvicorn", "openai", "opentelemetry", "cryptography", "jinja2", "fsspec", "alembic",
                   "headrace.engine", "headrace.server", "headrace.flows", "headrace.services.scheduler",
                   "sqlalchemy.dialects.postgresql")


def loaded(*args: str, home: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(list(args))], capture_output=True, text=True,
                          env={**env, "HEADRACE_HOME": str(home)}, timeout=60, cwd=home.parent)
    marker = done.stderr.rindex("MODULES ")
    return set(json.loads(done.stderr[marker + len("MODULES "):].splitlines()[0]))


def heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_help_imports_neither_the_stack_nor_rich(tmp_path):
    modules = loaded("--help", home=tmp_path / "home")
    assert heavy(modules, (*NEVER_FOR_READS, "rich", "markdown_it", "sqlalchemy", "pydantic_settings",
                           "headrace.storage", "headrace.sdk", "headrace.wiring")) == []
    assert heavy(modules, ("headrace.cli",)) == ["headrace.cli", "headrace.cli.common", "headrace.cli.entry",
                                                 "headrace.cli.main", "headrace.cli.output",
                                                 "headrace.cli.server"]  # the groups load when used


def test_read_only_commands_open_only_the_store_and_do_not_migrate_a_current_one(tmp_path):
    home = tmp_path / "home"
    assert "alembic" in loaded("run", "list", home=home)  # a new home is created and migrated, once
    for args in (["run", "list"], ["run", "list", "--json"], ["experiment", "list", "--json"],
                 ["run", "show", "no-such-run"]):
        assert heavy(loaded(*args, home=home), NEVER_FOR_READS) == [], args


def test_run_list_on_a_current_sqlite_home_does_not_load_typer(tmp_path):
    home = tmp_path / "home"
    assert "typer" in loaded("run", "list", home=home)  # a new home: created and migrated through Typer
    for args in (["run", "list"], ["run", "list", "--json", "--limit", "5"], ["run", "list", "-e", "x"]):
        assert heavy(loaded(*args, home=home), ("typer", "click", "sqlalchemy")) == [], args
    # anything the quick path does not know goes to Typer, which answers as before
    assert "typer" in loaded("run", "list", "--help", home=home)
    assert "typer" in loaded("run", "list", "--limit", "x", home=home)


def test_the_root_help_shows_each_lazy_groups_own_help():
    import importlib

    from headrace.cli.main import LAZY_GROUPS

    for name, (module, attribute, help_text) in LAZY_GROUPS.items():
        assert getattr(importlib.import_module(module), attribute).info.help == help_text, name


def test_the_role_choices_are_the_roles():
    assert [c.value for c in RoleChoice] == [r.value for r in Role]


def test_run_list_on_a_current_sqlite_home_loads_neither_sqlalchemy_nor_settings(tmp_path):
    home = tmp_path / "home"
    loaded("run", "list", home=home)  # creates and migrates the home
    for args in (["run", "list"], ["run", "list", "--json"], ["run", "list", "-e", "x", "--limit", "3"]):
        assert heavy(loaded(*args, home=home), ("sqlalchemy", "pydantic_settings", "alembic")) == [], args


def test_the_quick_reader_gives_what_the_store_gives(tmp_path):
    import uuid
    from datetime import UTC, datetime, timedelta

    from headrace.config import load_settings
    from headrace.storage.records import RunRecord, RunStatus
    from headrace.storage.sql import sqlite_runs
    from headrace.storage.sql.schema import HEAD_REVISION
    from headrace.wiring import open_store

    assert sqlite_runs.head_revision() == HEAD_REVISION
    home = tmp_path / "home"
    store = open_store(load_settings(home=home))
    try:
        pipeline = store.get_or_create_pipeline("p", {"steps": []})
        start = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)
        for i in range(60):
            exp = store.get_or_create_experiment(f"exp-{i % 3}")
            created = start + timedelta(seconds=i // 2)  # pairs share a time: the id orders them
            store.create_run(RunRecord(
                id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name, pipeline_id=pipeline.id,
                status=list(RunStatus)[i % len(RunStatus)], created_at=created,
                parameters={"i": i, "path": {"datastore": "d", "path": "ü/x"}}, tags={"k": str(i)} if i % 2 else {},
                description=None if i % 4 else "déjà", continue_on_step_failure=bool(i % 2),
                started_at=created if i % 3 else None, ended_at=created + timedelta(seconds=1.5) if i % 5 else None,
                error="boom" if i % 7 == 0 else None, attempt=i % 3, properties={"n": [1, 2]},
                published_pipeline_id="pp" if i % 6 == 0 else None), [])
        for experiment, limit in ((None, 50), (None, 500), ("exp-1", 7), ("none-such", 5)):
            expected, _ = store.list_runs(experiment_name=experiment, limit=limit)
            got = sqlite_runs.list_runs(home / "headrace.db", experiment_name=experiment, limit=limit)
            assert got == expected and (got or experiment == "none-such"), (experiment, limit)
    finally:
        store.close()
    assert sqlite_runs.list_runs(tmp_path / "missing.db", experiment_name=None, limit=5) is None
