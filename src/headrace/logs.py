"""Logger helpers. Only entry points (CLI, server) configure handlers."""

from __future__ import annotations

import logging


def get_logger(name: str) -> logging.Logger:
    """A logger under the ``headrace`` namespace."""
    return logging.getLogger(name if name.startswith("headrace") else f"headrace.{name}")


def configure(verbose: bool = False) -> None:
    """Configure stderr logging for a command-line entry point."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
