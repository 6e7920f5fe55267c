"""The web console (``/console``): server-rendered pages over the banks, matches and imports.

Every page needs a signed-in account (else a redirect to ``/console/sign-in``); every POST
needs the session's CSRF token (the sign-in form, which has no session yet, a token bound to
a short-lived cookie), and a cross-site ``Origin`` is refused outright. Pages show hashes and
metadata only, never media. Errors render as HTML pages here; the API's problem+json
handlers never see them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from safespace import __version__
from safespace.access import list_events
from safespace.accounts import Accounts, SessionInfo, new_token, tokens_match
from safespace.banks import BankService
from safespace.banks._jobs import ImportJobs
from safespace.errors import AccessDenied, ConfigError, InvalidInput, NotFound, SafeSpaceError
from safespace.reports._audit import user_actor

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "router"]

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
REJECTS_PER_PAGE = 100
SIGN_IN_COOKIE_SECONDS = 3600

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["iso"] = _iso
_env.filters["when"] = _when


class _SignInNeeded(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


class _Refused(Exception):
    """A POST without the right CSRF token or from another site."""


# --- the app's objects ----------------------------------------------------------------------


def _accounts(request: Request) -> Accounts:
    accounts = request.app.state.accounts
    assert isinstance(accounts, Accounts)
    return accounts


def _banks(request: Request) -> BankService:
    banks = request.app.state.safespace.banks
    assert isinstance(banks, BankService)
    return banks


def _jobs(request: Request) -> ImportJobs:
    jobs = request.app.state.import_jobs.jobs
    assert isinstance(jobs, ImportJobs)
    return jobs


# --- cookies ----------------------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return bool(request.app.state.safespace.settings.console_secure_cookie) or (
        request.url.scheme == "https"
    )


def _cookie_name(request: Request, base: str) -> str:
    """``__Host-`` when Secure: the browser then refuses the cookie from any subdomain."""
    return f"__Host-{base}" if _secure(request) else base


def _set_cookie(
    request: Request, response: Response, base: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        _cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def _clear_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        _cookie_name(request, base),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


_SESSION = "safespace_console"
_SIGN_IN = "safespace_signin"


# --- rendering and errors ---------------------------------------------------------------------


def _render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    session: SessionInfo | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _env.get_template(template).render(
        user=session.user if session else None,
        csrf_token=session.csrf_token if session else "",
        version=__version__,
        section=context.pop("section", ""),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _error_page(
    request: Request, status: int, title: str, message: str, session: SessionInfo | None
) -> HTMLResponse:
    back = ("/console", "Back to the overview") if session else ("/console/sign-in", "Sign in")
    return _render(
        request,
        "error.html",
        status=status,
        session=session,
        title=title,
        message=message,
        back_url=back[0],
        back_label=back[1],
    )


_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Conflict"}


class ConsoleRoute(APIRoute):
    """Turns the console's refusals and SafeSpace errors into HTML pages and redirects."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except _SignInNeeded as exc:
                target = request.url.path
                if request.method == "GET" and request.url.query:
                    target += "?" + request.url.query
                url = f"/console/sign-in?next={quote(target, safe='/')}"
                response = _redirect(url + ("&expired=1" if exc.expired else ""))
                if exc.expired:
                    _clear_cookie(request, response, _SESSION)
                return response
            except _Refused:
                message = (
                    "This form could not be accepted: it had expired or did not come from "
                    "this site. Go back, reload the page and try again."
                )
                return _error_page(
                    request, 403, "Form refused", message, getattr(request.state, "console", None)
                )
            except RequestValidationError:
                message = "The address or form had a value the console cannot use."
                session = getattr(request.state, "console", None)
                return _error_page(request, 400, "Bad request", message, session)
            except SafeSpaceError as exc:
                title = _TITLES.get(exc.status, "Error")
                session = getattr(request.state, "console", None)
                return _error_page(request, exc.status, title, exc.message, session)

        return handler


router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


def _signed_in(request: Request) -> SessionInfo:
    cookie = request.cookies.get(_cookie_name(request, _SESSION))
    session = _accounts(request).session(cookie)
    if session is None:
        raise _SignInNeeded(expired=cookie is not None)
    request.state.console = session
    return session


def signed_in_as(request: Request, role: str) -> bool:
    """Whether ``request`` carries a live console session that allows ``role``: the body
    guard asks before it lets a console upload past the media size to the import size."""
    cookie = request.cookies.get(_cookie_name(request, _SESSION))
    session = _accounts(request).session(cookie) if cookie else None
    return session is not None and session.user.allows(role)


def _need(session: SessionInfo, role: str) -> None:
    if not session.user.allows(role):
        raise AccessDenied(f"this page needs the {role} role; you are a {session.user.role}")


def _same_origin(request: Request) -> bool:
    """A browser's ``Origin`` on a POST must name this host (absent: older clients, tests)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _check_post(request: Request, expected: str | None, given: str | None) -> None:
    if not _same_origin(request) or not tokens_match(expected, given):
        raise _Refused()


def _safe_next(value: str | None) -> str:
    """Only a console path on this site: never an open redirect."""
    if not value or not value.startswith("/console") or "\\" in value or "//" in value:
        return "/console"
    return value


CsrfField = Annotated[str | None, Form(max_length=128)]


# --- sign-in and sign-out ---------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(
    request: Request,
    next_url: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
    expired: Annotated[bool, Query()] = False,
    signed_out: Annotated[bool, Query()] = False,
) -> Response:
    if _accounts(request).session(request.cookies.get(_cookie_name(request, _SESSION))):
        return _redirect(_safe_next(next_url))
    token = request.cookies.get(_cookie_name(request, _SIGN_IN)) or new_token()
    notice = ""
    if expired:
        notice = "Your session has ended. Sign in again to continue."
    elif signed_out:
        notice = "You have signed out."
    response = _render(
        request,
        "sign_in.html",
        title="Sign in",
        form_token=token,
        next_url=_safe_next(next_url),
        name="",
        error="",
        notice=notice,
    )
    _set_cookie(request, response, _SIGN_IN, token, SIGN_IN_COOKIE_SECONDS)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    name: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: CsrfField = None,
    next_url: Annotated[str, Form(alias="next", max_length=2048)] = "/console",
) -> Response:
    form_token = request.cookies.get(_cookie_name(request, _SIGN_IN))
    _check_post(request, form_token, csrf_token)
    accounts = _accounts(request)
    result = accounts.sign_in(name, password)
    if result.status == "ok" and result.session_id is not None:
        old = request.cookies.get(_cookie_name(request, _SESSION))
        if old:
            accounts.sessions.end(old)
        response: Response = _redirect(_safe_next(next_url))
        _set_cookie(request, response, _SESSION, result.session_id, None)
        _clear_cookie(request, response, _SIGN_IN)
        return response
    if result.status == "locked":
        wait = result.retry_after.total_seconds() if result.retry_after else 60.0
        minutes = max(1, math.ceil(wait / 60))
        error = (
            "Too many failed sign-ins for this name. Try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}, or ask an administrator."
        )
        status = 429
    else:
        error = "Wrong name or password."
        status = 401
    response = _render(
        request,
        "sign_in.html",
        status=status,
        title="Sign in",
        form_token=form_token,
        next_url=_safe_next(next_url),
        name=name,
        error=error,
        notice="",
    )
    if status == 429 and result.retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(result.retry_after.total_seconds()))
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf_token: CsrfField = None) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _accounts(request).sign_out(request.cookies.get(_cookie_name(request, _SESSION)), session.user)
    response = _redirect("/console/sign-in?signed_out=1")
    _clear_cookie(request, response, _SESSION)
    return response


# --- pages --------------------------------------------------------------------------------------


@router.get("")
def overview(request: Request) -> Response:
    session = _signed_in(request)
    state = request.app.state.safespace
    return _render(
        request,
        "overview.html",
        session=session,
        title="Overview",
        section="overview",
        banks=_banks(request).list_banks(),
        events=list_events(state.db, limit=25),
        jobs=_jobs(request).list_jobs(limit=10),
        charts=_overview_charts(request),
    )


def _overview_charts(request: Request) -> Any:
    """The overview's charts, from figures recomputed at most once a minute."""
    from safespace.web._charts import charts_of, draw

    return draw(charts_of(request).figures())


Page = Annotated[int, Query(ge=1, le=1_000_000)]


# GET /console/banks/{name} (search, provenance, add, withdraw, import, export): _banks_console


@router.post("/banks/{name}/enabled")
def set_bank_enabled(
    request: Request,
    name: str,
    enabled: Annotated[str, Form(pattern="^(true|false)$")],
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    if enabled == "false" and confirm != "yes":  # one stray click must not stop matching
        raise InvalidInput(
            "tick 'Yes, stop matching against this bank' to disable it: nothing was changed"
        )
    actor = user_actor(session.user.name)
    bank = _banks(request).update_bank(name, enabled=enabled == "true", actor=actor)
    return _redirect(f"/console/banks/{quote(bank.name, safe='')}")


@router.get("/imports/{job_id}")
def import_page(
    request: Request, job_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], page: Page = 1
) -> Response:
    session = _signed_in(request)
    jobs = _jobs(request)
    job = jobs.get(job_id)
    stored, rejects = jobs.rejects(
        job_id, offset=(page - 1) * REJECTS_PER_PAGE, limit=REJECTS_PER_PAGE
    )
    return _render(
        request,
        "import_job.html",
        session=session,
        title=f"Import job {job.id}",
        job=job,
        rejects=rejects,
        stored=stored,
        page=page,
        pages=max(1, math.ceil(stored / REJECTS_PER_PAGE)),
    )


@router.get("/users")
def users_page(request: Request) -> Response:
    session = _signed_in(request)
    _need(session, "admin")
    return _render(
        request,
        "users.html",
        session=session,
        title="Users",
        section="users",
        users=_accounts(request).users.list_users(),
    )


# --- deterrence experiments -------------------------------------------------------------------

_REPORT_HEADERS = {
    **_SECURITY_HEADERS,
    # The report is a standalone document: inline styles and plots as data: images, no script.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


@router.get("/experiments")
def experiments_page(request: Request) -> Response:
    """Leads and admins: the experiments in the Deter data, with links to their reports."""
    from safespace.deter import load_data

    session = _signed_in(request)
    _need(session, "lead")
    settings = request.app.state.deter.settings
    problem = None
    try:
        experiments = list(load_data(settings.deter_dir).experiments.experiments)
    except ConfigError as exc:
        experiments, problem = [], f"The Deter data files cannot be read: {exc}"
    return _render(
        request,
        "experiments.html",
        session=session,
        title="Experiments",
        section="experiments",
        experiments=experiments,
        problem=problem,
    )


@router.get("/experiments/{name}")
def experiment_report_page(request: Request, name: str, format: str = "html") -> Response:
    """The same report as ``safespace deter report``, from the stored events."""
    from safespace.deter._report import build_report, render_csv, render_html

    session = _signed_in(request)
    _need(session, "lead")
    if format not in ("html", "csv"):
        return _error_page(request, 400, "Bad request", "format must be html or csv", session)
    runtime = request.app.state.deter
    try:
        experiment = runtime.experiment(name)
    except NotFound:
        return _error_page(request, 404, "Not found", f"No experiment {name!r}.", session)
    built = build_report(runtime.events, experiment)
    if format == "csv":
        return Response(
            render_csv(built),
            media_type="text/csv",
            headers={
                **_SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{name}.csv"',
            },
        )
    back = ("/console/experiments", "Back to the experiments")
    return HTMLResponse(render_html(built, back=back), headers=_REPORT_HEADERS)
