"""The HTTP service (FastAPI): hashing, matching and bank curation over ``/v1``.

Public API: :func:`create_app` (one app from settings and an explicit list of routers) and
:func:`create_app_from_env` (settings from SAFESPACE_* variables, for ``uvicorn --factory``;
``safespace serve`` gives each worker its settings with ``create_app``). See docs/api.md.
"""

from __future__ import annotations

from safespace.api._app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
