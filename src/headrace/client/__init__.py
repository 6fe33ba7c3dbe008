"""The HTTP client of a headrace server. It needs only ``httpx`` and the wire models (``headrace.schemas``)."""

from headrace.client.client import HeadraceClient

__all__ = ["HeadraceClient"]
