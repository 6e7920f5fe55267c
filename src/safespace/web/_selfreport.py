"""The public self-report pages: ``/report`` (make a report) and ``/report/status``.

No account, no cookie. The pages load only their own scripts and talk only to their own
origin (a strict Content-Security-Policy with no inline script), and send no referrer, so
the address of a help service a person follows never tells it where they came from.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from safespace import __version__
from safespace.errors import InvalidInput
from safespace.reports._selfreport import check_locale, help_sections

__all__ = ["AGE_BAND_LABELS", "SECURITY_HEADERS", "router"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; worker-src 'self'; "
    "connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

AGE_BAND_LABELS = (
    ("under-13", "Under 13"),
    ("13-15", "13 to 15"),
    ("16-17", "16 or 17"),
    ("18-plus", "18 or older"),
    ("prefer-not-to-say", "I'd rather not say"),
)

_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


def _locale(request: Request) -> str:
    """The first language the browser asks for, e.g. ``en-GB``; only picks the help shown."""
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    try:
        return check_locale(first)
    except InvalidInput:
        return "en"


def _page(name: str, request: Request, **context: object) -> HTMLResponse:
    locale = _locale(request)
    settings = request.app.state.safespace.settings
    html = _env.get_template(f"report/{name}").render(
        locale=locale,
        version=__version__,
        site_name=getattr(settings, "reporter_platform", "") or "Report and remove",
        help=help_sections(locale),
        **context,
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/report", response_class=HTMLResponse)
def report_page(request: Request) -> HTMLResponse:
    return _page(
        "index.html",
        request,
        title="Report a picture or video of you",
        page="report",
        age_bands=AGE_BAND_LABELS,
    )


@router.get("/report/status", response_class=HTMLResponse)
def status_page(request: Request) -> HTMLResponse:
    return _page("status.html", request, title="Check or withdraw your report", page="status")
