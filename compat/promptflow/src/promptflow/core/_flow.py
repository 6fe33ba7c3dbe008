"""``promptflow.core._flow``: the path some code imports ``Prompty`` from."""

from promptflow._prompty import Prompty

__all__ = ["Prompty"]
