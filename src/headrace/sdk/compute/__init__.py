"""Compute targets: Azure ML's ``ComputeTarget`` and ``AmlCompute`` (``targets``), and Dask clusters (``dask``)."""

from headrace.sdk.compute.dask import DaskAttachConfiguration, DaskCompute
from headrace.sdk.compute.targets import (
    AmlCompute,
    AmlComputeProvisioningConfiguration,
    ComputeStatus,
    ComputeTarget,
    ComputeTargetException,
)

__all__ = ["AmlCompute", "AmlComputeProvisioningConfiguration", "ComputeStatus", "ComputeTarget",
           "ComputeTargetException", "DaskAttachConfiguration", "DaskCompute"]
