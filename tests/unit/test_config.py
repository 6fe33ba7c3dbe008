"""Settings: environment names, defaults, validation."""

from __future__ import annotations

import pytest

from headrace.config import load_settings
from headrace.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("HEADRACE_"):
            monkeypatch.delenv(key)


def test_defaults_live_in_the_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.home == (tmp_path / ".headrace").resolve()
    assert s.effective_db_url == f"sqlite:///{tmp_path.resolve() / '.headrace' / 'headrace.db'}"
    assert s.effective_artifacts_uri.startswith("file://")
    assert s.agent.max_parallel_steps >= 1
    assert s.agent.orphan_policy == "fail"


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("HEADRACE_DB_URL", "postgresql+psycopg://u@127.0.0.1/db")
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "7")
    monkeypatch.setenv("HEADRACE_AGENT__ORPHAN_POLICY", "requeue")
    s = load_settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.effective_db_url == "postgresql+psycopg://u@127.0.0.1/db"
    assert s.agent.max_parallel_steps == 7
    assert s.agent.orphan_policy == "requeue"


def test_explicit_overrides_beat_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADRACE_HOME", str(tmp_path / "env"))
    assert load_settings(home=tmp_path / "arg").home == (tmp_path / "arg").resolve()


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "0", "max_parallel_steps"),
        ("HEADRACE_AGENT__ORPHAN_POLICY", "retry", "orphan_policy"),
        ("HEADRACE_AGENT__STEP_TIMEOUT_SECONDS", "-1", "step_timeout_seconds"),
        ("HEADRACE_AGENT__STEP_LAUNCH", "thread", "step_launch"),
    ],
)
def test_invalid_settings_name_the_setting(monkeypatch, var, value, needle):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert needle in str(info.value)
