"""The metadata store on SQLite files (and in memory)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from headrace.errors import StoreError
from headrace.storage.sql import SqlMetadataStore, schema
from headrace.storage.sql.connection import BUSY_TIMEOUT_MS, create_store_engine

from .conformance import StoreConformance
from .sql_checks import SqlStoreChecks


class TestSqliteStore(StoreConformance, SqlStoreChecks):
    __test__ = True  # the bases opt out of collection

    @pytest.fixture
    def store_url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestInMemorySqliteStore(StoreConformance):
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


def test_first_opens_from_separate_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'metadata.db'}"
    code = (
        "import sys\n"
        "from headrace.storage.sql import SqlMetadataStore\n"
        "s = SqlMetadataStore(sys.argv[1])\n"
        "print(s.get_or_create_experiment('shared').id)\n"
        "s.close()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outputs]
    assert len({out.strip() for out, _ in outputs}) == 1
    engine = create_store_engine(url)
    try:
        assert schema.current_revision(engine) == schema.HEAD_REVISION
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM experiments")).scalar() == 1
    finally:
        engine.dispose()


def test_unusable_path_raises_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot open"):
        SqlMetadataStore(f"sqlite:///{tmp_path / 'file' / 'metadata.db'}")
    (tmp_path / "notadb").write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError):
        SqlMetadataStore(f"sqlite:///{tmp_path / 'notadb'}")
