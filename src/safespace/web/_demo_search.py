"""``/demo/search``: the demo's page for trying Deter's warning widget and support chatbot.

Served only by ``safespace demo --serve`` (``make run``), which adds :data:`router` to its
workers' routers; ``safespace serve`` never serves it. The page plays the platform: its
script posts what the tester typed to ``POST /demo/search/check``, which decides as
``POST /v1/deter/check`` does (no API key: the demo's own backend), records the
intervention and hands back the decision with its widget token; the page then shows it with
the real widget (``/v1/deter/widget.js``). The demo's Deter folder holds placeholder tokens
only (:data:`safespace._demo.DEMO_PLACEHOLDER_TERMS`); the page lists them.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from safespace import __version__
from safespace._demo import DEMO_PLACEHOLDER_TERMS
from safespace.api._deps import Deter
from safespace.api._uploads import json_body
from safespace.deter import DecisionRequest
from safespace.errors import InvalidInput

__all__ = ["CONTEXTS", "HELP_EXAMPLE", "router"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"

# Where a tester can type: the search box (a warning) and a chat message (the chatbot).
CONTEXTS = {"search": "A search box", "message": "A chat message (with the support chatbot)"}
# A help-seeking phrase from the shipped generic vocabulary (rules.yaml): help, no warning.
HELP_EXAMPLE = "stop it now"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(prefix="/demo", include_in_schema=False)


class DemoCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: StrictStr = Field(description="search or message")
    text: StrictStr = Field(min_length=1, max_length=500)
    session: StrictStr = Field("", max_length=64)


@router.get("/search", response_class=HTMLResponse)
def search_page() -> HTMLResponse:
    html = _env.get_template("demo/search.html").render(
        version=__version__,
        terms=DEMO_PLACEHOLDER_TERMS,
        help_example=HELP_EXAMPLE,
        contexts=CONTEXTS,
        session=secrets.token_hex(8),
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.post("/search/check")
async def search_check(request: Request, runtime: Deter) -> dict[str, Any]:
    """The decision for what the tester typed, with its widget token when it intervenes."""
    body = await json_body(request, DemoCheck)
    if body.context not in CONTEXTS:
        raise InvalidInput(f"context must be one of {', '.join(CONTEXTS)}")
    if not body.text.strip():
        raise InvalidInput("type something to check")
    loader = runtime.loader()
    decision = loader.decide(DecisionRequest(body.context, body.text, body.session, "en", None))
    out = decision.to_dict()
    if decision.intervene:
        await run_in_threadpool(runtime.events.record, decision)
        out["token"] = runtime.tokens().issue(decision.event_id)
    else:
        out["event_id"] = None
        out["token"] = None
    return out
