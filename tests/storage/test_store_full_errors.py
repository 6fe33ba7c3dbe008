"""A full disk under the database is a ``StoreFullError`` (the server answers 507), whatever says so."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from headrace.errors import StoreError, StoreFullError
from headrace.storage.sql.session import store_error


class _PgDiskFull(Exception):
    sqlstate = "53100"  # what psycopg's DiskFull carries


@pytest.mark.parametrize("cause", [
    OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full")),
    OperationalError("INSERT", {}, _PgDiskFull('could not extend file "base/1/2": No space left on device')),
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
], ids=["sqlite", "postgresql", "enospc", "quota"])
def test_disk_full_is_a_store_full_error_that_says_what_to_do(cause):
    err = store_error("create_run", cause)
    assert isinstance(err, StoreFullError)
    assert "create_run failed: the disk holding the database is full" in str(err)
    assert "free space, then try again" in str(err)


def test_other_failures_stay_plain_store_errors():
    err = store_error("get_run", OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
    assert type(err) is StoreError and "no such table" in str(err)
