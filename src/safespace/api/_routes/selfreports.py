"""``/v1/self-reports``: the public endpoints behind the /report page (no API key).

They take hashes as JSON and nothing else: any other body (a multipart upload above all) is
refused with 415 before it is read. Each client address may make a few requests a minute;
the limiter keys on an HMAC of the address under a per-process random key, held in memory
only, so no address is ever stored or logged here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from safespace.access import RateLimiter
from safespace.api._deps import State
from safespace.api._problems import PROBLEM_RESPONSES, validation_problem
from safespace.api._state import ServiceState, get_state
from safespace.errors import InvalidInput, RequestTooLarge, UnsupportedMedia
from safespace.reports._selfreport import (
    MAX_ITEMS,
    MAX_URLS,
    NewSelfReport,
    ReportItem,
    SelfReportService,
    SelfReportStatus,
    check_email,
    check_item,
    check_locale,
    check_url,
    help_sections,
)
from safespace.reports._selfreport_input import ITEM_TYPES
from safespace.signals import normalize

__all__ = ["MAX_BODY_BYTES", "SelfReportRuntime", "router"]

MAX_BODY_BYTES = 64 * 1024
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_NOT_JSON = (
    "this endpoint accepts hashes only, as JSON (Content-Type: application/json); "
    "your file never leaves your device"
)

# Public on purpose: the OpenAPI document says so (``security: []``) for each operation.
router = APIRouter(prefix="/v1/self-reports", tags=["self-reports"], responses=PROBLEM_RESPONSES)
_PUBLIC: dict[str, Any] = {"security": []}


def _wrap(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    md5: str = Field(description="MD5 of the file, 32 hex digits")
    media_kind: Literal["image", "video"]
    pdq: str | None = Field(None, description="PDQ of an image, 64 hex digits; null for videos")
    pdq_quality: int | None = Field(None, ge=0, le=100)

    @field_validator(*(k.name for k in ITEM_TYPES))  # the fields named after signal types
    @classmethod
    def _hash(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return _wrap(lambda v: normalize(str(info.field_name), v)[1], value)  # type: ignore[no-any-return]

    @model_validator(mode="after")
    def _together(self) -> ItemIn:
        self.to_item()
        return self

    def to_item(self) -> ReportItem:
        item = ReportItem(self.md5, self.media_kind, self.pdq, self.pdq_quality)
        return _wrap(check_item, item)  # type: ignore[no-any-return]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str = Field(description="Where to tell the person the outcome")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _wrap(check_email, value)  # type: ignore[no-any-return]


class SelfReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    age_band: Literal["under-13", "13-15", "16-17", "18-plus", "prefer-not-to-say"]
    seen_at_urls: list[str] = Field(default_factory=list, max_length=MAX_URLS)
    contact: ContactIn | None = None
    locale: str = "en"

    @field_validator("seen_at_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for i, url in enumerate(urls):
            try:
                check_url(url)
            except InvalidInput as exc:
                raise ValueError(f"seen_at_urls[{i}]: {exc.message}") from None
        return urls

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return _wrap(check_locale, value)  # type: ignore[no-any-return]


class CaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    case_number: str = Field(max_length=64, description="SR-XXXX-XXXX, any case")
    pin: str = Field(max_length=64, description="The PIN shown when the report was made")


@dataclass
class SelfReportRuntime:
    """One per app: the service, the per-address limiter, and the key that hides addresses."""

    service: SelfReportService
    limiter: RateLimiter
    address_key: bytes

    @classmethod
    def build(cls, state: ServiceState) -> SelfReportRuntime:
        per_minute = state.settings.self_report_requests_per_minute
        return cls(
            service=SelfReportService.from_settings(state.db, state.settings),
            limiter=RateLimiter(per_minute / 60.0, max(1, per_minute), max_keys=50_000),
            address_key=secrets.token_bytes(32),
        )


_build_lock = threading.Lock()


def _runtime(request: Request) -> SelfReportRuntime:
    app_state = request.app.state
    runtime = getattr(app_state, "self_reports", None)
    if runtime is None:
        with _build_lock:
            runtime = getattr(app_state, "self_reports", None)
            if runtime is None:
                runtime = SelfReportRuntime.build(get_state(request))
                app_state.self_reports = runtime
    assert isinstance(runtime, SelfReportRuntime)
    return runtime


def limited(request: Request) -> SelfReportRuntime:
    """The runtime, after taking a token for this client's (hashed) address."""
    runtime = _runtime(request)
    host = request.client.host if request.client else ""
    key = hmac.new(runtime.address_key, host.encode(), hashlib.sha256).digest()
    runtime.limiter.check(key)
    return runtime


async def _json(request: Request, model: type[Any]) -> Any:
    """The body as ``model``: JSON only (415 otherwise, unread), at most MAX_BODY_BYTES."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise UnsupportedMedia(_NOT_JSON)
    declared = request.headers.get("content-length", "")
    too_large = RequestTooLarge(f"request body is over the limit of {MAX_BODY_BYTES} bytes")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    try:
        return model.model_validate_json(bytes(body))
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from None


def _next_steps() -> list[str]:
    return [
        "Write down your case number and PIN, or keep them somewhere safe. "
        "We cannot show the PIN again.",
        "The fingerprints of your pictures or videos are on our block list now. If someone "
        "tries to share the same picture here, it is stopped and checked by our safety team.",
        "You can check your report, or withdraw it, on the report status page with your "
        "case number and PIN.",
    ]


def _status_body(result: SelfReportStatus) -> dict[str, Any]:
    return {"case_number": result.case_number, "status": result.status, "message": result.text}


@router.post(
    "",
    status_code=201,
    summary="Report your own image or video by its hashes",
    openapi_extra=_PUBLIC,
)
async def create_self_report(
    request: Request, state: State, runtime: Annotated[SelfReportRuntime, Depends(limited)]
) -> JSONResponse:
    """Hashes only: the file is hashed in the browser and never sent."""
    body: SelfReportIn = await _json(request, SelfReportIn)
    report = NewSelfReport(
        items=[i.to_item() for i in body.items],
        age_band=body.age_band,
        locale=body.locale,
        seen_at_urls=body.seen_at_urls,
        contact_email=body.contact.email if body.contact else None,
    )
    receipt = await run_in_threadpool(runtime.service.create, report)
    await run_in_threadpool(state.matcher.refresh_now)
    local = [s for s in help_sections(body.locale, body.age_band) if s.local]
    out = {
        "case_number": receipt.case_number,
        "pin": receipt.pin,
        "status": receipt.status,
        "items": receipt.items,
        "hashes": receipt.hashes,
        "pdq_not_used": receipt.pdq_not_used,
        "next_steps": _next_steps(),
        "help": [svc.to_dict() for section in local for svc in section.services],
    }
    return JSONResponse(out, status_code=201, headers=_HEADERS)


@router.post(
    "/status", summary="The status of a self-report (case number and PIN)", openapi_extra=_PUBLIC
)
async def self_report_status(
    request: Request, runtime: Annotated[SelfReportRuntime, Depends(limited)]
) -> JSONResponse:
    body: CaseIn = await _json(request, CaseIn)
    result = await run_in_threadpool(runtime.service.status, body.case_number, body.pin)
    return JSONResponse(_status_body(result), headers=_HEADERS)


@router.post(
    "/withdraw", summary="Withdraw a self-report: its hashes stop matching", openapi_extra=_PUBLIC
)
async def withdraw_self_report(
    request: Request, state: State, runtime: Annotated[SelfReportRuntime, Depends(limited)]
) -> JSONResponse:
    body: CaseIn = await _json(request, CaseIn)
    result = await run_in_threadpool(runtime.service.withdraw, body.case_number, body.pin)
    await run_in_threadpool(state.matcher.refresh_now)
    return JSONResponse({**_status_body(result), "removed": result.removed}, headers=_HEADERS)
