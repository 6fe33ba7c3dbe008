"""Azure ML's ``Environment`` in the SDK: definitions plus the workspace registry (register, get, list)."""

from headrace.sdk.environments.environment import Environment

__all__ = ["Environment"]
