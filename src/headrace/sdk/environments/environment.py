"""``Environment``: an environment definition that can be registered in a workspace, versioned, and fetched."""

from __future__ import annotations

from headrace.core.environment import EnvironmentDefinition

__all__ = ["Environment"]


class Environment(EnvironmentDefinition):
    """A named, versionable Python environment for steps (Azure ML v1's ``Environment``).

    Example:
        >>> from headrace import CondaDependencies, Environment
        >>> env = Environment("train-env")
        >>> env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
        >>> env.spec()["pip"]
        ['scikit-learn']
    """
