"""The web UI ("the studio"): server-rendered pages from templates and assets shipped in the package.

Nothing is fetched from the network: the CSS (and later the few scripts) live in ``static/``.
Mounted at ``/`` by ``server.app.create_app``; the REST API stays under ``/api/v1``.
"""

from headrace.server.ui.routes import STATIC_DIR, router

__all__ = ["STATIC_DIR", "router"]
