"""The metadata store on SQLite files (and in memory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headrace.errors import StoreError
from headrace.storage.sql import SqlMetadataStore
from headrace.storage.sql.connection import BUSY_TIMEOUT_MS, create_store_engine

from .conformance import StoreConformance
from .conformance_compute import ComputeConformance
from .conformance_connections import ConnectionConformance
from .conformance_datasets import DatasetConformance
from .conformance_drafts import DraftConformance
from .conformance_environments import EnvironmentConformance
from .conformance_events import EventConformance
from .conformance_flows import FlowConformance
from .conformance_logged_models import LoggedModelConformance
from .conformance_models import ModelConformance
from .conformance_modules import ModuleConformance
from .conformance_publishing import PublishingConformance
from .conformance_run_keys import RunKeyConformance
from .conformance_schedules import ScheduleConformance
from .sql_checks import SqlStoreChecks


class TestSqliteStore(StoreConformance, PublishingConformance, RunKeyConformance, ScheduleConformance,
                      ConnectionConformance, FlowConformance, DatasetConformance, DraftConformance, ComputeConformance, EnvironmentConformance,
                      ModelConformance, LoggedModelConformance, ModuleConformance, EventConformance, SqlStoreChecks):
    __test__ = True  # the bases opt out of collection

    @pytest.fixture
    def store_url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestInMemorySqliteStore(StoreConformance, PublishingConformance, RunKeyConformance, ScheduleConformance,
                              ConnectionConformance, FlowConformance, DatasetConformance, DraftConformance, ComputeConformance, EnvironmentConformance,
                              ModelConformance, LoggedModelConformance, ModuleConformance, EventConformance):
    __test__ = True  # the bases opt out of collection

    @pytest.fixture
    def store(self) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore("sqlite://")
        yield store
        store.close()


def test_connections_use_wal_and_foreign_keys(sqlite_url: str) -> None:
    SqlMetadataStore(sqlite_url).close()
    engine = create_store_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": BUSY_TIMEOUT_MS,
    }


def test_unusable_path_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open"):
        SqlMetadataStore(f"sqlite:///{tmp_path / 'file' / 'metadata.db'}")
    (tmp_path / "notadb").write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError):
        SqlMetadataStore(f"sqlite:///{tmp_path / 'notadb'}")


@pytest.mark.parametrize("url", ["not a url", "nosuchdialect://host/db"])
def test_bad_urls_raise_store_error(url: str) -> None:
    with pytest.raises(StoreError):
        SqlMetadataStore(url)
