"""``DaskCompute``: an existing Dask cluster as a named compute target (beyond Azure ML).

Steps naming the target run as Dask tasks on the cluster's workers, each script in its own process
there (see ``headrace.engine.dask_target``). The workers reach the artifact area and datastores by
URL: object stores, or folders every worker mounts (``mounted_paths``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headrace.errors import ComputeTargetException, ConfigError
from headrace.sdk.compute.targets import ComputeTarget


@dataclass
class DaskAttachConfiguration:
    """What ``DaskCompute.attach_configuration`` returns; ``ComputeTarget.attach`` stores it."""

    address: str
    resources: dict[str, float] = field(default_factory=dict)
    connect_timeout: float | None = None
    retries: int | None = None
    mounted_paths: list[str] = field(default_factory=list)
    max_parallel_steps: int | None = None
    no_worker_timeout: float | None = None
    description: str | None = None
    type = "dask"

    def to_config(self) -> dict[str, Any]:
        config = {"address": self.address, "resources": dict(self.resources), "mounted_paths": list(self.mounted_paths),
                  "connect_timeout": self.connect_timeout, "retries": self.retries,
                  "max_parallel_steps": self.max_parallel_steps, "no_worker_timeout": self.no_worker_timeout}
        return {k: v for k, v in config.items() if v is not None}

    def validate_configuration(self) -> None:
        """Raises: ComputeTargetException naming the bad setting."""
        from headrace.services.compute_dask import check_config

        try:
            check_config("(new)", self.to_config())
        except ConfigError as exc:
            raise ComputeTargetException(str(exc)) from exc


class DaskCompute(ComputeTarget):
    """A Dask cluster attached as a compute target.

    Attributes:
        address: the scheduler's address.
        resources: Dask resources every step on it asks for.

    Example:
        >>> config = DaskCompute.attach_configuration(address="tcp://scheduler:8786", resources={"GPU": 1})
        >>> cluster = ComputeTarget.attach(ws, "gpu-dask", config)
        >>> step = PythonScriptStep(script_name="train.py", compute_target=cluster, source_directory="src")
    """

    @staticmethod
    def attach_configuration(address: str, resources: Mapping[str, float] | None = None,
                             connect_timeout: float | None = None, retries: int | None = None,
                             mounted_paths: Sequence[str] = (), max_parallel_steps: int | None = None,
                             no_worker_timeout: float | None = None,
                             description: str | None = None) -> DaskAttachConfiguration:
        """A configuration for ``ComputeTarget.attach``.

        Args:
            address: the scheduler, ``tcp://host:8786``.
            resources: Dask resources each step asks for (``{"GPU": 1}``); workers declare theirs with
                ``dask worker --resources GPU=1``.
            connect_timeout: seconds to reach the scheduler before a step fails (default 10).
            retries: how often a step whose worker died runs again on another worker (default 1).
            mounted_paths: local folders every worker mounts at the same path (local datastores there are allowed).
            max_parallel_steps: most steps of one run sent to the cluster at once (default 256).
            no_worker_timeout: seconds a step waits while the cluster has no worker (default 300).
            description: free text.

        Raises:
            ComputeTargetException: a bad address or setting.
        """
        config = DaskAttachConfiguration(address=address, resources=dict(resources or {}),
                                         connect_timeout=connect_timeout, retries=retries,
                                         mounted_paths=list(mounted_paths), max_parallel_steps=max_parallel_steps,
                                         no_worker_timeout=no_worker_timeout, description=description)
        config.validate_configuration()
        return config

    @property
    def address(self) -> str:
        return str(self._record.config.get("address"))

    @property
    def resources(self) -> dict[str, float]:
        return dict(self._record.config.get("resources") or {})
