"""Azure ML's authentication classes, reduced to what headrace needs: the header of a headrace token.

``InteractiveLoginAuthentication().get_authentication_header()`` is how Azure ML's REST samples get
the header they send to a pipeline's endpoint; here it returns ``{"Authorization": "Bearer <token>"}``
with the token of the configured workspace, and never opens a browser.
"""

from __future__ import annotations

import os
from typing import Any

from headrace.errors import ConfigError


class InteractiveLoginAuthentication:
    """The headrace token of a workspace, as an HTTP header.

    The token is, in order: the token of ``workspace`` (a remote workspace's, or the admin token
    ``headrace server`` wrote into a local home's ``config.json``), else ``HEADRACE_TOKEN``, else
    that of ``Workspace.from_config()``. Azure ML's arguments (``force``, ``tenant_id``, ``cloud``)
    are accepted and have no effect.

    Example:
        >>> auth = InteractiveLoginAuthentication()
        >>> requests.post(published.endpoint, headers=auth.get_authentication_header(), json=body)  # doctest: +SKIP
    """

    def __init__(self, force: bool = False, tenant_id: str | None = None, cloud: str | None = None,
                 *, workspace: Any = None):
        self._workspace = workspace

    def get_token(self) -> str:
        """The token itself.

        Raises:
            ConfigError: no token is configured (the message says where one is looked for).
        """
        token = _token_of(self._workspace) if self._workspace is not None else None
        token = token or os.environ.get("HEADRACE_TOKEN")
        if not token and self._workspace is None:
            from headrace.sdk.workspace import Workspace

            token = _token_of(Workspace.from_config())
        if not token:
            raise ConfigError(
                "no headrace token configured: set HEADRACE_TOKEN, put \"token\" in .headrace/config.json, "
                "or start `headrace server` once on the home (it writes an admin token there); "
                "`headrace token create --role submitter` makes one")
        return token

    def get_authentication_header(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}``; raises ConfigError when no token is configured."""
        return {"Authorization": f"Bearer {self.get_token()}"}


def _token_of(workspace: Any) -> str | None:
    if workspace.is_remote:
        return getattr(workspace, "_token", None)
    from headrace.services.homeconfig import read_home_config

    token = read_home_config(workspace.home / "config.json").get("token")
    return token if isinstance(token, str) and token else None
