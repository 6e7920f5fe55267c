"""The HTTP service (FastAPI): hashing, matching and bank curation over ``/v1``.

Public API: :func:`create_app` (one app from settings and an explicit list of routers) and
:func:`create_app_from_env` (the factory ``safespace serve`` gives uvicorn). See docs/api.md.
"""

from __future__ import annotations

from safespace.api.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
