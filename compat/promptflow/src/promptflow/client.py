"""``promptflow.client``: ``PFClient`` and ``load_flow`` over headrace."""

from promptflow._client import PFClient, load_flow
from promptflow._run import load_run

__all__ = ["PFClient", "load_flow", "load_run"]
