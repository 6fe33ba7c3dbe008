"""Wire models of the compute target routes (``/api/v1/computes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import _Request, _Wire


class ComputeCreate(_Request):
    Type: str = Field(description='"AmlCompute" (runs on the server\'s agent), "dask" (a Dask cluster) or "local".')
    Properties: dict[str, Any] = Field(default_factory=dict,
                                       description="The type's settings. AmlCompute: vm_size, min_nodes, max_nodes, "
                                       "...; dask: address (tcp://host:8786), resources ({\"GPU\": 1}), "
                                       "connect_timeout, retries, mounted_paths, max_parallel_steps, "
                                       "no_worker_timeout.")
    Description: str | None = None


class ComputeRead(_Wire):
    Name: str
    Type: str
    Properties: dict[str, Any]
    Description: str | None = None
    ProvisioningState: str = "Succeeded"
    CreatedTime: datetime


class ComputeList(_Wire):
    Value: list[ComputeRead]
    ContinuationToken: str | None = None
