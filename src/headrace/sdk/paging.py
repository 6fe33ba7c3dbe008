"""Page sizes of SDK listings (a module of its own: the local backend needs it without the wire models)."""

RUN_PAGE = 100
"""Runs fetched per page when the SDK lists runs (local store or REST)."""
