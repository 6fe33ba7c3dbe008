"""The metadata store on PostgreSQL: a new database per test on the server ``HEADRACE_TEST_PG_URL`` names."""

from __future__ import annotations

import pytest

from headrace.errors import StoreError
from headrace.storage.sql import SqlMetadataStore

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
from .conftest import IN_CI, PG_ADMIN_URL
from .sql_checks import SqlStoreChecks

pytestmark = pytest.mark.postgres

if not PG_ADMIN_URL and not IN_CI:  # under CI=true the pg_admin_engine fixture fails instead
    pytest.skip(
        "HEADRACE_TEST_PG_URL is not set; start one with scripts/pg.sh start and set"
        " HEADRACE_TEST_PG_URL=$(scripts/pg.sh url)",
        allow_module_level=True,
    )


class TestPostgresStore(StoreConformance, PublishingConformance, RunKeyConformance, ScheduleConformance,
                        ConnectionConformance, FlowConformance, DatasetConformance, DraftConformance, ComputeConformance, EnvironmentConformance,
                        ModelConformance, LoggedModelConformance, ModuleConformance, EventConformance, SqlStoreChecks):
    __test__ = True  # the bases opt out of collection

    @pytest.fixture
    def store_url(self, pg_url: str) -> str:
        return pg_url


def test_unreachable_server_raises_store_error(pg_admin_engine) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        SqlMetadataStore("postgresql://postgres@127.0.0.1:1/postgres")
