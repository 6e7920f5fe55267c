"""Looking after reviewers in the console: ``/console/me`` and ``/console/reviewers``.

``/console/me``: a reviewer's own settings (blur strength, greyscale after a reveal, break
reminder, categories opted out of) and their exposure summary with a link to support.
``/console/me/break``: "not now" on the break notice. ``/console/reviewers``: each reviewer's
load, for leads and admins. :func:`review_context` is what the queue and item pages show
(the break notice, the media classes, a short summary). The work is
:class:`safespace.reports._wellbeing.Wellbeing`'s; these routes are thin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from safespace.accounts import SessionInfo
from safespace.errors import InvalidInput
from safespace.reports._queue import ReviewQueue
from safespace.reports._wellbeing import (
    BLUR_STRENGTHS,
    BREAK_SNOOZE_MINUTES,
    PAUSE_MINUTES,
    Wellbeing,
)
from safespace.store._models_wellbeing import MAX_BREAK_MINUTES
from safespace.web._console import (
    ConsoleRoute,
    CsrfField,
    _check_post,
    _need,
    _redirect,
    _render,
    _safe_next,
    _signed_in,
)

__all__ = ["review_context", "router"]

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

DEFAULT_SUPPORT_TEXT = (
    "If something you saw stays with you, talk to your lead or to someone you trust. "
    "Looking for support is part of doing this work well."
)


def wellbeing(request: Request) -> Wellbeing:
    """The service over the review queue's database and clock (tests replace the clock)."""
    queue = request.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    settings = request.app.state.safespace.settings
    return Wellbeing.from_settings(queue.db, settings, clock=lambda: queue.clock())


def _support(request: Request) -> dict[str, str]:
    settings = request.app.state.safespace.settings
    url = settings.review_support_url.strip()
    text = settings.review_support_text.strip()
    if url and not url.startswith(("https://", "http://", "/")):
        url = ""  # only a web address: never javascript: or the like
    if url:
        return {"href": url, "text": text or "Support for reviewers"}
    return {"href": "", "text": text or DEFAULT_SUPPORT_TEXT}


def review_context(request: Request, session: SessionInfo) -> dict[str, Any]:
    """What the queue and item pages need: ``wellbeing`` (prefs, summary, support)."""
    service = wellbeing(request)
    name = session.user.name
    return {
        "wellbeing": {
            "prefs": service.prefs(name),
            "summary": service.summary(name),
            "support": _support(request),
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        }
    }


def skip_categories(request: Request, session: SessionInfo) -> tuple[str, ...]:
    """The categories the signed-in reviewer opted out of."""
    return wellbeing(request).prefs(session.user.name).opt_out


def _settings_page(
    request: Request,
    session: SessionInfo,
    *,
    status: int = 200,
    error: str = "",
    typed: dict[str, Any] | None = None,
    saved: bool = False,
) -> Response:
    service = wellbeing(request)
    name = session.user.name
    prefs = service.prefs(name)
    shown = typed or {
        "blur": prefs.blur,
        "keep_grey": prefs.keep_grey,
        "break_minutes": "" if prefs.own_break_minutes is None else str(prefs.own_break_minutes),
        "opt_out": list(prefs.opt_out),
    }
    return _render(
        request,
        "review/settings.html",
        status=status,
        session=session,
        title="Your review settings",
        section="me",
        typed=shown,
        error=error,
        saved=saved,
        strengths=BLUR_STRENGTHS,
        categories=service.categories(name),
        default_break=service.default_break_minutes,
        max_break=MAX_BREAK_MINUTES,
        summary=service.summary(name),
        support=_support(request),
        pause_minutes=PAUSE_MINUTES,
    )


@router.get("/me")
def settings_page(request: Request) -> Response:
    session = _signed_in(request)
    saved = request.query_params.get("saved") == "1"
    return _settings_page(request, session, saved=saved)


@router.post("/me")
def save_settings(
    request: Request,
    blur: Annotated[str, Form(max_length=16)] = "",
    keep_grey: Annotated[str, Form(max_length=8)] = "",
    break_minutes: Annotated[str, Form(max_length=16)] = "",
    opt_out: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 (FastAPI copies it)
    csrf_token: CsrfField = None,
) -> Response:
    """Store the reviewer's settings; a bad value: the 400 page, with what was typed kept."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    grey = keep_grey == "yes"
    try:
        wellbeing(request).save(
            session.user.name,
            blur=blur,
            keep_grey=grey,
            break_minutes=break_minutes,
            opt_out=opt_out,
        )
    except InvalidInput as exc:
        typed = {
            "blur": blur,
            "keep_grey": grey,
            "break_minutes": break_minutes,
            "opt_out": opt_out,
        }
        return _settings_page(request, session, status=400, error=exc.message, typed=typed)
    return _redirect("/console/me?saved=1")


@router.post("/me/break")
def snooze_break(
    request: Request,
    back: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """ "Not now" on the break notice: recorded, and the notice stays away for a while."""
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    wellbeing(request).snooze(session.user.name, BREAK_SNOOZE_MINUTES)
    return _redirect(_safe_next(back))


@router.get("/reviewers")
def reviewers_page(request: Request) -> Response:
    """Each reviewer's load today and this week (leads and admins)."""
    session = _signed_in(request)
    _need(session, "lead")
    service = wellbeing(request)
    return _render(
        request,
        "review/reviewers.html",
        session=session,
        title="Reviewers",
        section="reviewers",
        rows=service.reviewers(),
        pause_minutes=PAUSE_MINUTES,
    )
