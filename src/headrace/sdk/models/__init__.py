"""The model registry in the SDK: ``Model`` (Azure ML v1) and its workspace backends."""

from headrace.sdk.models.model import Model

__all__ = ["Model"]
