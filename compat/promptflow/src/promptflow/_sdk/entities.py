"""``promptflow._sdk.entities``: an older import path of ``promptflow.entities`` that flows still use."""

from promptflow.entities import *  # noqa: F403
from promptflow.entities import __all__  # noqa: F401
