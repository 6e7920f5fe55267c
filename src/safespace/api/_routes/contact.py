"""``/v1/contact``: contact decisions for children's accounts, signal events, prompt outcomes.

A platform's backend calls ``POST /v1/contact/check`` before one account contacts, suggests,
tags or sees another, and ``POST /v1/contact/events`` when something happens that says how
an adult behaves towards children (a block, a report, requests sent, accepted or ignored).
Both need an API key with scope ``contact``. See docs/contact.md.

The service lives in :class:`~safespace.contact._runtime.ContactRuntime` (``app.state.contact``,
built on first use, shared with the console's pages).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from safespace.api._deps import AdminKey, ContactKey, Review, State
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._uploads import json_body, openapi_body
from safespace.api._widgets import EVENT_ID, PUBLIC, allow_origin, preflight, widget_file
from safespace.contact import ACTIONS, AGE_BANDS, Account, ContactRequest, Relation
from safespace.contact._prompts import OUTCOMES
from safespace.contact._risk import Message, risk_summary
from safespace.contact._runtime import ContactRuntime, runtime_for
from safespace.contact._signals import EVENT_TYPES
from safespace.deter._report import render_html
from safespace.errors import InvalidInput
from safespace.reports._queue_feeds import UserReport

__all__ = [
    "ContactKey",
    "ContactRuntime",
    "contact_runtime",
    "router",
]

_LOCALE = re.compile(r"[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8}){0,3}")


def contact_runtime(request: Request, state: State) -> ContactRuntime:
    return runtime_for(request.app.state, state.settings, state.db)


Contact = Annotated[ContactRuntime, Depends(contact_runtime)]


# --- bodies ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountBody(_Body):
    id: StrictStr = Field(min_length=1, max_length=256, description="The platform's opaque id.")
    age_band: StrictStr = Field("unknown", description=", ".join(AGE_BANDS))
    age_assured: StrictBool = Field(False, description="Whether the age band was assured.")

    def account(self) -> Account:
        return Account(self.id, self.age_band, self.age_assured)


class RelationBody(_Body):
    connected: StrictBool = Field(False, description="A mutual connection.")
    follows: StrictBool = Field(False, description="The target follows the actor.")
    mutual_contacts: StrictInt = Field(0, ge=0, le=1_000_000_000)


class CheckBody(_Body):
    actor: AccountBody
    target: AccountBody
    relation: RelationBody = Field(default_factory=RelationBody)
    action: StrictStr = Field(description=", ".join(ACTIONS))
    country: StrictStr | None = Field(None, description="Two-letter code: age limits, help.")
    locale: StrictStr = Field("en", max_length=35, description="The prompts' language.")


class EventBody(_Body):
    type: StrictStr = Field(description=", ".join(EVENT_TYPES))
    actor: AccountBody = Field(description="Who did it.")
    target: AccountBody = Field(description="To whom.")
    country: StrictStr | None = Field(None, description="Two-letter code.")
    locale: StrictStr = Field("en", max_length=35)


class MomentBody(_Body):
    moment: StrictStr = Field(description="A prompt moment of the policy, e.g. default-turned-off.")
    account: AccountBody
    country: StrictStr | None = None
    locale: StrictStr = Field("en", max_length=35)


class OutcomeBody(_Body):
    outcome: StrictStr = Field(description=", ".join(OUTCOMES))


class MessageBody(_Body):
    sender: StrictStr = Field(description="adult or child")
    text: StrictStr = Field(max_length=10_000)


class ConversationBody(_Body):
    messages: list[MessageBody] = Field(max_length=1000)
    conversation_id: StrictStr | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your id for the conversation: with it, a risky one goes to review.",
    )
    account_id: StrictStr | None = Field(
        None, min_length=1, max_length=200, description="The adult's account, for the reviewer."
    )


class WidgetOutcomeBody(_Body):
    event_id: StrictStr
    token: StrictStr = Field(max_length=200)
    outcome: StrictStr = Field(description=", ".join(OUTCOMES))


def _locale(value: str) -> str:
    if not _LOCALE.fullmatch(value):
        raise InvalidInput(f"locale must look like en, en-GB or pt_BR, got {value[:40]!r}")
    return value


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    if not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise InvalidInput(f"country must be a two-letter code, got {value[:10]!r}")
    return value.upper()


# --- endpoints ---------------------------------------------------------------------------------

router = APIRouter(prefix="/v1/contact", tags=["contact"], responses=PROBLEM_RESPONSES)


@router.post(
    "/check",
    summary="May one account contact, suggest, tag or see another?",
    openapi_extra=openapi_body(json_model=CheckBody),
)
async def check(request: Request, runtime: Contact, key: ContactKey) -> dict[str, Any]:
    """``decision`` allow, deny or prompt (allowed, with a prompt); ``rule`` says which rule."""
    body = await json_body(request, CheckBody)
    req = ContactRequest(
        body.actor.account(),
        body.target.account(),
        body.action,
        Relation(body.relation.connected, body.relation.follows, body.relation.mutual_contacts),
        country=_country(body.country),
        locale=_locale(body.locale),
    )
    service = runtime.service()
    decision = await run_in_threadpool(service.check, req, api_key_id=key.id)
    return service.decision_dict(decision)


@router.post(
    "/events",
    summary="Record a signal: a block, report, or request sent, accepted or ignored",
    openapi_extra=openapi_body(json_model=EventBody),
)
async def event(request: Request, runtime: Contact, key: ContactKey) -> dict[str, Any]:
    """``stored`` is false for events that are not between an adult and a child (not kept)."""
    body = await json_body(request, EventBody)
    if body.type not in EVENT_TYPES:
        raise InvalidInput(f"unknown event type {body.type!r} (use {', '.join(EVENT_TYPES)})")
    service = runtime.service()
    stored, prompt = await run_in_threadpool(
        lambda: service.event(
            body.type,
            body.actor.account(),
            body.target.account(),
            country=_country(body.country),
            locale=_locale(body.locale),
            api_key_id=key.id,
        )
    )
    return {"stored": stored, "prompt": service.prompt_dict(prompt)}


@router.post(
    "/prompts",
    summary="A supportive prompt at a moment the platform names (e.g. default-turned-off)",
    openapi_extra=openapi_body(json_model=MomentBody),
)
async def moment(request: Request, runtime: Contact, key: ContactKey) -> dict[str, Any]:
    body = await json_body(request, MomentBody)
    service = runtime.service()
    prompt = await run_in_threadpool(
        lambda: service.moment_prompt(
            body.moment,
            body.account.account(),
            country=_country(body.country),
            locale=_locale(body.locale),
            api_key_id=key.id,
        )
    )
    found = service.prompt_dict(prompt)
    assert found is not None
    return found


@router.post(
    "/prompts/{event_id}/outcomes",
    summary="Record what the child did after a prompt",
    openapi_extra=openapi_body(json_model=OutcomeBody),
)
async def outcome(
    event_id: str, request: Request, runtime: Contact, key: ContactKey
) -> dict[str, Any]:
    """``recorded`` is false when the prompt already had this outcome (each counts once)."""
    body = await json_body(request, OutcomeBody)
    if not EVENT_ID.fullmatch(event_id):
        raise InvalidInput("event_id must be the UUID returned with the prompt")
    service = runtime.service()
    recorded = await run_in_threadpool(service.prompts.add_outcome, event_id, body.outcome)
    return {"event_id": event_id, "outcome": body.outcome, "recorded": recorded}


@router.post(
    "/conversations/score",
    summary="Score a conversation between an adult and a child (off unless the policy says)",
    openapi_extra=openapi_body(json_model=ConversationBody),
)
async def score_conversation(
    request: Request, runtime: Contact, review: Review, key: ContactKey
) -> dict[str, object]:
    """Scores per label and the rules and word spans that fired; no text is stored or echoed.
    With a ``conversation_id``, a score at the policy's ``review_score`` or above puts the
    conversation in the review queue for a person to decide (never an automatic action)."""
    body = await json_body(request, ConversationBody)
    messages = [Message(m.sender, m.text) for m in body.messages]
    service = runtime.service()
    assessment = await run_in_threadpool(service.assess_conversation, messages)
    out = assessment.to_dict()
    out["review_item"] = None
    threshold = service.loader.policy.risk_review_score
    if body.conversation_id is not None and max(assessment.scores.values(), default=0) >= threshold:
        report = UserReport(
            content_id=f"conversation:{body.conversation_id}",
            reason=risk_summary(assessment),
            account_id=body.account_id,
            source="conversation",
        )
        item, new = await run_in_threadpool(review.queue.report, report)
        out["review_item"] = {"id": item.id, "new": new}
    return out


@router.get(
    "/experiments/{name}/report",
    summary="A prompt experiment's analysis from stored prompts and outcomes (HTML)",
    response_class=HTMLResponse,
)
async def report(
    name: str,
    runtime: Contact,
    key: AdminKey,
    outcome: Annotated[str, Query(description="The primary outcome")] = "blocked",
) -> Response:
    service = runtime.service()
    experiment = service.experiment(name)
    built = await run_in_threadpool(service.prompts.report, experiment, outcome=outcome)
    html = await run_in_threadpool(render_html, built, plots=False)
    html = html.replace("Deter experiment", "Contact prompt experiment")
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.options("/widget/outcomes", include_in_schema=False)
def widget_outcome_preflight(request: Request) -> Response:
    return preflight(request)


@router.post(
    "/widget/outcomes",
    summary="Record an outcome from the widget (no API key: the prompt's token)",
    openapi_extra={**openapi_body(json_model=WidgetOutcomeBody), "security": []},
)
async def widget_outcome(request: Request, response: Response, runtime: Contact) -> dict[str, Any]:
    allow_origin(request, response)
    body = await json_body(request, WidgetOutcomeBody)
    if not EVENT_ID.fullmatch(body.event_id):
        raise InvalidInput("event_id must be the UUID returned with the prompt")
    service = runtime.service()
    service.tokens.verify(body.event_id, body.token)
    recorded = await run_in_threadpool(
        service.prompts.add_outcome, body.event_id, body.outcome, via="widget"
    )
    return {"event_id": body.event_id, "outcome": body.outcome, "recorded": recorded}


@router.get("/widget.js", summary="The contact widget's script", openapi_extra=PUBLIC)
def widget_js() -> Response:
    return widget_file("contact-widget.js", "text/javascript")


@router.get("/widget.css", summary="The contact widget's styles", openapi_extra=PUBLIC)
def widget_css() -> Response:
    return widget_file("contact-widget.css", "text/css")
