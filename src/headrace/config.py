"""Typed settings, read from ``HEADRACE_*`` environment variables.

Nested groups use ``__``: ``HEADRACE_AGENT__MAX_PARALLEL_STEPS=4``. Two flat names from the
contract are kept: ``HEADRACE_HOME`` and ``HEADRACE_DB_URL``. Nothing builds ``Settings`` at
import time: entry points (SDK workspace, CLI, server) build it and pass it down.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from headrace.errors import ConfigError


class AgentSettings(BaseModel):
    """How the local agent executes runs."""

    max_parallel_steps: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Steps of one run executed at the same time (default: number of cores).",
    )
    step_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Default per-step timeout; a step over it fails. None: no limit."
    )
    lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a claimed run stays owned without a heartbeat."
    )
    orphan_policy: str = Field(
        default="fail",
        description="What a starting agent does with runs whose agent died: 'fail' marks their "
        "unfinished steps Failed ('agent lost'); 'requeue' resumes them (finished steps are kept).",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Fallback poll interval for queued runs.")
    in_process: bool = Field(
        default=True,
        description="In an embedded workspace, start an agent inside the submitting process on its first "
        "submit. Set false when a separate `headrace agent` serves the home.",
    )
    resident: Literal["off", "auto"] = Field(
        default="off",
        description="'auto': a script's embedded workspace whose home no agent serves starts `headrace agent` "
        "for it in the background and hands its runs to that agent (later scripts start fast); the agent exits "
        "after `resident_idle_seconds` without work.",
    )
    resident_idle_seconds: float = Field(
        default=600.0, gt=0, description="How long an agent started by 'auto' waits for work before it exits.")
    small_file_bytes: int = Field(
        default=1 << 20,
        ge=0,
        description="Input files up to this size are fingerprinted by content hash for reuse; "
        "larger ones by size + mtime/etag.",
    )

    step_launch: str = Field(
        default="fork",
        description="'fork' starts each step from a warm Python interpreter (a fork server), skipping the "
        "10-15 ms of interpreter start; steps whose PYTHON*/LD_* variables differ from the agent's start "
        "with a new process anyway. 'spawn' always starts a new `python` process.",
    )

    step_user: str | None = Field(
        default=None,
        description="Run steps as this OS user (the agent must run as root), so a step's code cannot read "
        "the home's config.json (admin token), secret.key or database. None: steps run as the agent's user.",
    )

    work_root: Path | None = Field(
        default=None,
        description="Where steps' work folders go (default: the home's `work` folder). Elsewhere, a step's "
        "working folder does not show where the home is.",
    )
    step_python: str | None = Field(
        default=None,
        description="The Python interpreter steps run with (a path). None: the agent's own, and steps may be "
        "forked from it. Set it when steps need another environment, or when the step user cannot read the "
        "agent's interpreter.",
    )

    @field_validator("step_launch")
    @classmethod
    def _launch(cls, v: str) -> str:
        if v not in ("fork", "spawn"):
            raise ValueError("step_launch must be 'fork' or 'spawn'")
        return v

    @field_validator("orphan_policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if v not in ("fail", "requeue"):
            raise ValueError("orphan_policy must be 'fail' or 'requeue'")
        return v


class ServerSettings(BaseModel):
    """How the REST API treats what clients send."""

    unknown_parameters: str = Field(
        default="error",
        description="What a REST submission whose ParameterAssignments (or DataPathAssignments) name a "
        "parameter the pipeline does not declare gets: 'error' (400 naming it and the valid ones) or "
        "'warn' (the run is queued without it, and the warning is recorded on the run).",
    )

    @field_validator("unknown_parameters")
    @classmethod
    def _unknown(cls, v: str) -> str:
        if v not in ("error", "warn"):
            raise ValueError("unknown_parameters must be 'error' or 'warn'")
        return v


class WebhookSettings(BaseModel):
    """How events reach webhook subscribers (``HEADRACE_WEBHOOKS__*``)."""

    allowed_networks: str = Field(
        default="",
        description="CIDRs deliveries may reach although they are loopback, private, link-local or metadata "
        "addresses (refused by default, against SSRF), comma-separated: '127.0.0.0/8,::1/128'.",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="How long one delivery attempt may take.")
    retry_seconds: float = Field(
        default=86400.0, gt=0,
        description="How long a failing delivery is retried (exponential backoff) before it is marked dead.",
    )
    first_backoff_seconds: float = Field(default=5.0, gt=0, description="Wait before the first retry; doubles.")
    max_backoff_seconds: float = Field(default=3600.0, gt=0, description="Longest wait between two attempts.")
    concurrency: int = Field(default=16, ge=1, description="Deliveries in flight at once.")
    public_url: str | None = Field(
        default=None, description="The server's address as people reach it, for links in notifications "
        "(default: the address the server listens on).",
    )
    history_days: float = Field(default=30.0, gt=0, description="Dispatched events and finished deliveries "
                                "older than this are pruned.")

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, v: str) -> str:
        import ipaddress

        for cidr in v.split(","):
            try:
                if cidr.strip():
                    ipaddress.ip_network(cidr.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"allowed_networks: {cidr.strip()!r} is not a network (CIDR): {exc}") from None
        return v

    @property
    def networks(self) -> list[str]:
        """``allowed_networks`` as a list of CIDRs."""
        return [part.strip() for part in self.allowed_networks.split(",") if part.strip()]


class Settings(BaseSettings):
    """All settings of a headrace home."""

    model_config = SettingsConfigDict(env_prefix="HEADRACE_", env_nested_delimiter="__", extra="ignore")

    home: Path = Field(default=Path(".headrace"), description="Folder holding the embedded workspace.")
    db_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the metadata store; default SQLite in the home."
    )
    artifacts_uri: str | None = Field(
        default=None,
        description="fsspec URI of the artifact area (snapshots, logs, dataset manifests); default "
        "<home>/artifacts. An object store (s3://bucket/prefix, abfs://container/prefix) takes its endpoint and "
        "credentials from the library's own environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
        "AWS_ENDPOINT_URL; AZURE_STORAGE_CONNECTION_STRING) or from artifacts_options.",
    )
    artifacts_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec storage options of the artifact area, a JSON object (HEADRACE_ARTIFACTS_OPTIONS), "
        'e.g. {"endpoint_url": "http://minio:9000", "key": "...", "secret": "..."}.',
    )
    agent: AgentSettings = Field(default_factory=AgentSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    cache_seconds: float = Field(
        default=1.0, ge=0, description="How long published pipelines, endpoints and tokens read from the "
        "store are trusted; a change made by another process (e.g. a token revoked from the CLI) is seen "
        "within this. Changes made through the same server apply at once.",
    )

    @field_validator("home")
    @classmethod
    def _abs_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def effective_db_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'headrace.db'}"

    @property
    def effective_artifacts_uri(self) -> str:
        return self.artifacts_uri or (self.home / "artifacts").as_uri()

    @property
    def default_datastore_path(self) -> Path:
        return self.home / "datastores" / "workspaceblobstore"


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides.

    Raises:
        ConfigError: a setting is invalid; the message names it.
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"invalid headrace settings: {exc}") from exc
