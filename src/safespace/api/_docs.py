"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, served by SafeSpace.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and a favicon from FastAPI's site:
blank on a server without internet, and a third party learns whenever an admin opens them.
Here the scripts, styles and icon are the files the ``fastapi-offline`` package ships,
served from ``/docs/assets/``; the pages are SafeSpace's own HTML with no inline script (the
Swagger UI start-up is ``static/js/api-docs.js``, with the online validator off), under a
Content-Security-Policy that allows only this origin. The two libraries write inline styles,
so styles allow those. ReDoc's side menu always shows a logo from its vendor's CDN: served
here, that one address reads ``data:,`` (an empty image, which ReDoc then leaves out).

Accessibility (axe-core finds no serious or critical violation: tests/console/test_console_axe.py):
``static/css/api-docs.css`` (both pages) corrects the libraries' low-contrast colours, ReDoc
starts with a theme of its own (``static/js/api-redoc.js``, which also names ReDoc's unlabelled
choosers), and Swagger UI runs without deep links, whose anchors sat inside its operation
buttons (nested controls).
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files
from importlib.resources.abc import Traversable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from safespace import __version__
from safespace.errors import NotFound

__all__ = ["ASSETS", "router"]

ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "application/javascript",
    "favicon.png": "image/png",
}

# The one address ReDoc's script loads by itself, whatever its options.
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png?v={v}">
{head}
</head>
<body>
<main>
{body}
</main>
{scripts}
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


def _asset(name: str) -> Traversable:
    return files("fastapi_offline").joinpath("static", name)


@cache
def _asset_bytes(name: str) -> bytes:
    data = _asset(name).read_bytes()
    if name == "redoc.standalone.js":
        data = data.replace(_REDOC_LOGO, b"data:,")
    return data


def _page(title: str, head: str, body: str, scripts: list[str]) -> HTMLResponse:
    tags = "\n".join(f'<script src="{escape(s)}"></script>' for s in scripts)
    html = _PAGE.format(title=escape(title), v=__version__, head=head, body=body, scripts=tags)
    return HTMLResponse(html, headers=_HEADERS)


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    v = __version__
    return _page(
        "SafeSpace API",
        f'<link rel="stylesheet" href="/docs/assets/swagger-ui.css?v={v}">\n'
        f'<link rel="stylesheet" href="/static/css/api-docs.css?v={v}">',
        '<div id="swagger-ui" data-openapi="/openapi.json"></div>',
        [f"/docs/assets/swagger-ui-bundle.js?v={v}", f"/static/js/api-docs.js?v={v}"],
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _page(
        "SafeSpace API (ReDoc)",
        f'<link rel="stylesheet" href="/static/css/api-docs.css?v={__version__}">',
        '<div id="redoc" data-openapi="/openapi.json"></div>',
        [
            f"/docs/assets/redoc.standalone.js?v={__version__}",
            f"/static/js/api-redoc.js?v={__version__}",
        ],
    )


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    """One of the documentation pages' files; they change only with the package."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no documentation asset {name!r}")
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(_asset_bytes(name), media_type=media_type, headers=headers)
