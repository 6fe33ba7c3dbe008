"""``EntryScript``: what an entry script asks about its worker (Azure ML's ``azureml_user.parallel_run``)."""

from __future__ import annotations

import logging
import os

from headrace.sdk.parallel.worker import ENV_NODE, ENV_OUTPUT, ENV_PROCESS, USER_LOGGER


class EntryScript:
    """The worker an entry script runs in: its logger and the step's output folder.

    Example:
        >>> from headrace.sdk.parallel import EntryScript
        >>> def init():
        ...     EntryScript().logger.info("loading the model")
    """

    @property
    def logger(self) -> logging.Logger:
        """A logger whose lines land in the step's stdout, tagged with the worker's name."""
        return logging.getLogger(USER_LOGGER)

    @property
    def output_dir(self) -> str:
        """The step's output folder (``AZUREML_BI_OUTPUT_PATH``), for scripts that write their own files."""
        return os.environ.get(ENV_OUTPUT, os.getcwd())

    @property
    def working_dir(self) -> str:
        """The worker's working folder (the step's source folder)."""
        return os.getcwd()

    @property
    def node_id(self) -> int:
        """The worker's node number, from 0."""
        return int(os.environ.get(ENV_NODE, "0"))

    @property
    def process_name(self) -> str:
        """The worker's name, ``node<N>.process<M>``."""
        return os.environ.get(ENV_PROCESS, "node0.process0")
