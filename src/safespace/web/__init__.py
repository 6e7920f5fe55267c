"""The web console and the self-report page: routers and templates over the services.

Nothing here is public API: the routers are registered with the app by
``safespace.api._routes.DEFAULT_ROUTERS``, and the browser-side assets (the on-device hashing
library) are served from ``static/``.
"""

__all__: list[str] = []
