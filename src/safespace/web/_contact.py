"""Contact signals in the console (leads and admins): flagged adults, the events behind each
flag, clearing a flag (audited as ``contact.flag-clear``), and prompt experiment reports.

Accounts appear only as the keyed ids SafeSpace stores, never as platform ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from safespace.contact._runtime import ContactRuntime, runtime_for
from safespace.reports import _audit as audit
from safespace.reports._audit import user_actor
from safespace.web._console import (
    _SECURITY_HEADERS,
    ConsoleRoute,
    CsrfField,
    _check_post,
    _need,
    _redirect,
    _render,
    _signed_in,
)

__all__ = ["router"]

router = APIRouter(prefix="/console/contact", include_in_schema=False, route_class=ConsoleRoute)
Subject = Annotated[str, PathParam(pattern=r"^[0-9a-f]{64}$")]
Note = Annotated[str, Form(min_length=1, max_length=500)]
_REPORT_HEADERS = {
    **_SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


def _runtime(request: Request) -> ContactRuntime:
    state = request.app.state.safespace
    return runtime_for(request.app.state, state.settings, state.db)


@router.get("")
def flags_page(request: Request, cleared: int = 0) -> Response:
    session = _signed_in(request)
    _need(session, "lead")
    service = _runtime(request).service()
    return _render(
        request,
        "contact_flags.html",
        session=session,
        title="Suspicious-adult flags",
        section="contact",
        flags=service.flags(),
        experiments=list(service.loader.policy.experiments),
        notice="The flag was cleared." if cleared else None,
    )


@router.get("/flags/{subject}")
def flag_page(request: Request, subject: Subject) -> Response:
    session = _signed_in(request)
    _need(session, "lead")
    flag = _runtime(request).service().flag(subject)
    return _render(
        request, "contact_flag.html", session=session, title="Flag", section="contact", flag=flag
    )


@router.post("/flags/{subject}/clear")
def clear_flag(
    request: Request, subject: Subject, note: Note, csrf_token: CsrfField = None
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    service = _runtime(request).service()
    flag = service.flag(subject)
    with service.signals.db.transaction() as s:
        service.clear_flag(subject, session=s)
        audit.append(
            s,
            user_actor(session.user.name),
            "contact.flag-clear",
            f"contact:{subject}",
            {
                "reasons": list(flag.reasons),
                "blocked_or_reported_by": flag.blocked_or_reported_by,
                "ignored": flag.ignored,
                "accepted": flag.accepted,
                "note": note,
            },
        )
    return _redirect("/console/contact?cleared=1")


@router.get("/experiments/{name}")
def experiment_report(request: Request, name: str) -> Response:
    """A prompt experiment's analysis, as Deter's experiment report."""
    from safespace.deter._report import render_html

    session = _signed_in(request)
    _need(session, "lead")
    service = _runtime(request).service()
    built = service.prompts.report(service.experiment(name))
    html = render_html(built, plots=False).replace("Deter experiment", "Contact prompt experiment")
    return HTMLResponse(html, headers=_REPORT_HEADERS)
