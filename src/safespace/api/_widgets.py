"""What the embeddable widgets' routes share (Deter's and the contact prompts'): the origin
check for calls from other sites, the preflight answer, and serving the widget's files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request, Response

from safespace.api._state import get_state
from safespace.errors import AccessDenied

__all__ = ["EVENT_ID", "PUBLIC", "STATIC", "allow_origin", "preflight", "widget_file"]

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
PUBLIC: dict[str, Any] = {"security": []}  # no API key: public by design (the widget's)
EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def allow_origin(request: Request, response: Response) -> None:
    """Browsers on the operator's allowed origins may read the answer; others may not call."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    state = get_state(request)
    if origin.rstrip("/") not in state.settings.deter_origins():
        raise AccessDenied(f"origin {origin[:100]!r} is not in SAFESPACE_DETER_ALLOWED_ORIGINS")
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"


def preflight(request: Request) -> Response:
    """The answer to a browser's CORS preflight for a widget's POST."""
    response = Response(status_code=204)
    allow_origin(request, response)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "600"
    return response


def widget_file(name: str, media_type: str) -> Response:
    """A widget's script or styles, cacheable and loadable from other sites."""
    folder = "js" if name.endswith(".js") else "css"
    body = (STATIC / folder / name).read_bytes()
    headers = {
        "Cache-Control": "public, max-age=300",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body, media_type=media_type, headers=headers)
