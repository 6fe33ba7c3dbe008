"""``promptflow.client``: ``PFClient`` and ``load_flow`` over headrace."""

from promptflow._client import PFClient, load_flow

__all__ = ["PFClient", "load_flow"]
