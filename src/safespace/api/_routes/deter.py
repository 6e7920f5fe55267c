"""``/v1/deter``: warnings and help at search and upload, their outcomes, chat and reports.

A platform's backend calls ``POST /v1/deter/check`` (API key, scope ``match``) and hands the
decision, with its widget token, to the embeddable widget (``/v1/deter/widget.js``). The
widget reports outcomes and drives the chatbot with the token alone, from the platform's
pages (CORS for ``SAFESPACE_DETER_ALLOWED_ORIGINS`` only): a token is good for one event and
expires, so nobody can write outcomes for events they were not shown.

:class:`~safespace.api._runtimes.DeterRuntime` holds the reloadable configuration and, in a
background thread, looks for changed data files every few seconds and deletes events past
their retention hourly.
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool

from safespace.api._auth import bearer
from safespace.api._deps import AdminKey, Deter, MatchKey, State, match_key
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._runtimes import PURGE_SECONDS, RELOAD_SECONDS, DeterRuntime
from safespace.api._uploads import json_body, openapi_body
from safespace.api._widgets import EVENT_ID, PUBLIC, allow_origin, preflight, widget_file
from safespace.deter import CONTEXTS, OUTCOMES, ChatState, DecisionRequest
from safespace.deter._report import build_report, render_csv, render_html
from safespace.errors import AccessDenied, InvalidInput, InvalidSignal
from safespace.signals import SIGNAL_TYPES, normalize

# The runtime and its timings are re-exported for the tests that drive them.
__all__ = ["PURGE_SECONDS", "RELOAD_SECONDS", "DeterRuntime", "router"]

_LOCALE = re.compile(r"[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8}){0,3}")
_TEXT_CONTEXTS = ("search", "message", "url")


# --- bodies ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckRequest(_Body):
    context: StrictStr = Field(description="search, message, url or upload.")
    text: StrictStr | None = Field(
        None, max_length=10_000, description="What was typed; required except for uploads."
    )
    signals: dict[str, StrictStr] | None = Field(
        None, description='Upload hashes, e.g. {"pdq": "...", "md5": "..."}; required for uploads.'
    )
    session: StrictStr = Field(
        "", max_length=256, description="An opaque pseudonym from the platform (picks the arm)."
    )
    locale: StrictStr = Field("en", max_length=35, description="The person's language.")
    country: StrictStr | None = Field(None, description="Two-letter code for help services.")


class OutcomeRequest(_Body):
    outcome: StrictStr = Field(description=", ".join(OUTCOMES))


class WidgetOutcomeRequest(_Body):
    event_id: StrictStr
    token: StrictStr = Field(max_length=200)
    outcome: StrictStr = Field(description=", ".join(OUTCOMES))


class ChatRequest(_Body):
    state: dict[str, Any] = Field(description="The state of the last turn, as returned.")
    button: StrictStr | None = Field(None, max_length=200)
    text: StrictStr | None = Field(None, max_length=1000)
    event_id: StrictStr | None = Field(None, description="With token: the widget's event.")
    token: StrictStr | None = Field(None, max_length=200)


# --- helpers -----------------------------------------------------------------------------------

router = APIRouter(prefix="/v1/deter", tags=["deter"], responses=PROBLEM_RESPONSES)


def _event_id(value: str) -> str:
    if not EVENT_ID.fullmatch(value):
        raise InvalidInput("event_id must be the UUID returned with the decision")
    return value


def _outcome(value: str) -> str:
    if value not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {value!r} (use {', '.join(OUTCOMES)})")
    return value


def _signals(signals: dict[str, str]) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for name, value in signals.items():
        kind, canonical = normalize(name, value)  # any registered signal type
        if kind in found:
            raise InvalidSignal(f"{kind} given twice")
        found[kind] = canonical
    if not found:
        raise InvalidSignal(f"give at least one hash in signals: {', '.join(SIGNAL_TYPES)}")
    return list(found.items())


# --- endpoints ---------------------------------------------------------------------------------


@router.post(
    "/check",
    summary="Decide whether to warn, offer help, or block an upload",
    openapi_extra=openapi_body(json_model=CheckRequest),
)
async def check(request: Request, state: State, runtime: Deter, key: MatchKey) -> dict[str, Any]:
    """The decision, rendered in the person's language; interventions are recorded."""
    body = await json_body(request, CheckRequest)
    loader = runtime.loader()
    if body.context not in CONTEXTS:
        raise InvalidInput(f"unknown context {body.context!r} (use {', '.join(CONTEXTS)})")
    if not _LOCALE.fullmatch(body.locale):
        raise InvalidInput(f"locale must look like en, en-GB or pt_BR, got {body.locale[:40]!r}")
    text = body.text or ""
    matched_bank: str | None = None
    if body.context in _TEXT_CONTEXTS:
        if not text.strip():
            raise InvalidInput(f"text is required for context {body.context!r}")
        if body.signals is not None:
            raise InvalidInput("signals are only for context 'upload'")
    else:
        if not body.signals:
            raise InvalidInput("signals (pdq, md5 or sha256) are required for context 'upload'")
        query = _signals(body.signals)
        matcher = state.matcher.matcher
        result = matcher.match_cached(query)
        if result is None:
            result = await run_in_threadpool(matcher.match, query)
        if result.matches:
            matched_bank = result.matches[0].bank
    decision = loader.decide(
        DecisionRequest(
            body.context, text, body.session, body.locale, body.country,
            upload_matched=matched_bank is not None, match_info=matched_bank,
        )
    )  # fmt: skip
    out = decision.to_dict()
    if decision.intervene:
        await run_in_threadpool(runtime.events.record, decision, api_key_id=key.id)
        out["token"] = runtime.tokens().issue(decision.event_id)
    else:
        out["event_id"] = None
        out["token"] = None
    return out


@router.post(
    "/events/{event_id}/outcomes",
    summary="Record what the person did after an intervention",
    openapi_extra=openapi_body(json_model=OutcomeRequest),
)
async def outcome(
    event_id: str,
    request: Request,
    runtime: Deter,
    key: MatchKey,
) -> dict[str, Any]:
    """``recorded`` is false when the event already had this outcome (each counts once)."""
    body = await json_body(request, OutcomeRequest)
    name = _outcome(body.outcome)
    recorded = await run_in_threadpool(
        runtime.events.add_outcome, _event_id(event_id), name, via="api"
    )
    return {"event_id": event_id, "outcome": name, "recorded": recorded}


@router.options("/widget/outcomes", include_in_schema=False)
def widget_outcome_preflight(request: Request) -> Response:
    return preflight(request)


@router.post(
    "/widget/outcomes",
    summary="Record an outcome from the widget (no API key: the decision's token)",
    openapi_extra={**openapi_body(json_model=WidgetOutcomeRequest), "security": []},
)
async def widget_outcome(request: Request, response: Response, runtime: Deter) -> dict[str, Any]:
    allow_origin(request, response)
    body = await json_body(request, WidgetOutcomeRequest)
    event_id = _event_id(body.event_id)
    runtime.tokens().verify(event_id, body.token)
    name = _outcome(body.outcome)
    recorded = await run_in_threadpool(runtime.events.add_outcome, event_id, name, via="widget")
    return {"event_id": event_id, "outcome": name, "recorded": recorded}


@router.options("/chat", include_in_schema=False)
def chat_preflight(request: Request) -> Response:
    return preflight(request)


@router.post(
    "/chat",
    summary="Advance a chatbot conversation (scripted, never generative)",
    openapi_extra={**openapi_body(json_model=ChatRequest), "security": []},
)
async def chat(request: Request, response: Response, runtime: Deter) -> dict[str, Any]:
    """An API key with scope ``match``, or the widget's ``event_id`` and ``token``."""
    if request.headers.get("authorization"):
        checked = match_key(request, await bearer(request))
        if inspect.isawaitable(checked):  # the dependency may be sync or async
            await checked
        body = await json_body(request, ChatRequest)
    else:
        allow_origin(request, response)
        body = await json_body(request, ChatRequest)
        if body.event_id is None or body.token is None:
            raise AccessDenied("send an API key, or the event_id and token of the decision")
        runtime.tokens().verify(_event_id(body.event_id), body.token)
    engine = runtime.loader().current.chatbot
    turn = engine.reply(ChatState.from_dict(body.state), button=body.button, text=body.text)
    return turn.to_dict()


@router.get(
    "/experiments/{name}/report",
    summary="An experiment's analysis from stored events (HTML, or CSV counts)",
    response_class=HTMLResponse,
)
async def report(
    name: str,
    runtime: Deter,
    key: AdminKey,
    format: Annotated[str, Query(description="html or csv")] = "html",
    outcome: Annotated[str, Query(description="The primary outcome")] = "clicked_help",
    planned: Annotated[int | None, Query(ge=1, description="People per arm; default: plan")] = None,
) -> Response:
    if format not in ("html", "csv"):
        raise InvalidInput("format must be html or csv")
    _outcome(outcome)
    experiment = runtime.experiment(name)
    built = await run_in_threadpool(
        build_report, runtime.events, experiment, outcome=outcome, planned_per_arm=planned
    )
    if format == "csv":
        return PlainTextResponse(
            render_csv(built),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    html = await run_in_threadpool(render_html, built)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/widget.js", summary="The embeddable widget's script", openapi_extra=PUBLIC)
def widget_js() -> Response:
    return widget_file("deter-widget.js", "text/javascript")


@router.get("/widget.css", summary="The embeddable widget's styles", openapi_extra=PUBLIC)
def widget_css() -> Response:
    return widget_file("deter-widget.css", "text/css")
