"""Fixtures for the storage tests: database URLs (SQLite files, throwaway PostgreSQL databases).

PostgreSQL tests need ``HEADRACE_TEST_PG_URL`` (``scripts/pg.sh start`` then
``export HEADRACE_TEST_PG_URL=$(scripts/pg.sh url)``). Without it they skip, except under
``CI=true`` where they fail so that CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

# Plain asserts in the shared suites report values too (pytest only rewrites test modules by itself).
pytest.register_assert_rewrite(
    *(
        __name__.rpartition(".")[0] + "." + name
        for name in ("conformance", "conformance_connections", "conformance_flows", "conformance_models", "conformance_publishing", "conformance_run_keys",
                     "conformance_schedules", "sql_checks")
    )
)

# Read at import, before any autouse fixture clears HEADRACE_* variables.
PG_ADMIN_URL = os.environ.get("HEADRACE_TEST_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A SQLite file in a folder that does not exist yet (the store creates it)."""
    return f"sqlite:///{tmp_path / 'state' / 'metadata.db'}"


@pytest.fixture(scope="session")
def pg_admin_engine() -> Iterator[Engine]:
    """An autocommit engine on the server named by ``HEADRACE_TEST_PG_URL`` (for CREATE/DROP DATABASE)."""
    if not PG_ADMIN_URL:
        hint = "start one with scripts/pg.sh start and set HEADRACE_TEST_PG_URL=$(scripts/pg.sh url)"
        if IN_CI:
            pytest.fail(f"CI=true but HEADRACE_TEST_PG_URL is not set; {hint}", pytrace=False)
        pytest.skip(f"HEADRACE_TEST_PG_URL is not set; {hint}")
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: Engine) -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    name = f"headrace_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
