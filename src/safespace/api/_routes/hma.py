"""Routes shaped like Meta's Hasher-Matcher-Actioner (HMA) API, so an HMA client can switch.

Same paths, parameters, field names and success shapes as HMA's ``/h`` (hashing), ``/m``
(matching) and ``/c`` (curation) blueprints; what differs is documented in
docs/hma-compat.md: an API key is required, errors are problem+json, PDQ distances are per
bank, and media is fetched by URL only from prefixes the operator allowed.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, RootModel, StrictBool, StrictFloat, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from safespace.api._deps import CurateKey, MatchKey, State
from safespace.api._lookups import entries_for
from safespace.api._metrics import observe_matches
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._state import ServiceState, get_state
from safespace.api._uploads import json_body
from safespace.banks import BankInfo, fetch_url
from safespace.banks.formats import HashRecord
from safespace.errors import (
    BankNotFound,
    InvalidInput,
    InvalidRequest,
    InvalidSignal,
    NotFound,
    UnsupportedMedia,
)
from safespace.reports._audit import api_key_actor
from safespace.signals import (
    SIGNAL_TYPES,
    MediaKind,
    Signals,
    SignalType,
    exchange_type,
    get_signal_type,
    hash_bytes,
)

__all__ = ["router"]

router = APIRouter(tags=["hma-compatible"], responses=PROBLEM_RESPONSES)

_CONTENT_TYPES = ("photo", "video")
_TE = "threatexchange"  # SignalType.exchange_names key: python-threatexchange's and HMA's names
# HMA content type -> the signal types it hashes by default (HMA names), from the registry.
_DEFAULT_TYPES: dict[str, tuple[str, ...]] = {
    content: tuple(
        k.exchange_name(_TE) or k.name
        for k in SIGNAL_TYPES.values()
        if content in k.threatexchange_content
    )
    for content in _CONTENT_TYPES
}


def _kind(name: str) -> SignalType:
    """The signal type HMA calls ``name`` (its own names first, then SafeSpace's)."""
    return exchange_type(_TE, name) or get_signal_type(name)


# --- hashing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _One:
    """One signal to match, with its quality (so low quality is skipped)."""

    kind: SignalType
    value: str
    quality: int | None = None

    def query(self) -> SimpleNamespace:
        """Signals-like: the attribute named after the type, and its quality field."""
        fields: dict[str, Any] = {self.kind.name: self.value}
        if self.kind.quality_field is not None:
            fields[self.kind.quality_field] = self.quality
        return SimpleNamespace(**fields)


def _content_type(given: str | None, header: str) -> str:
    if given:
        if given not in _CONTENT_TYPES:
            raise InvalidInput(f"no such content_type: {given!r} (known: photo, video)")
        return given
    mime = header.lower()
    if mime.startswith("image"):
        return "photo"
    if mime.startswith("video"):
        return "video"
    raise UnsupportedMedia(
        f"unsupported url ContentType: {header!r}; give content_type=photo or video"
    )


def _hashes(signals: Signals, content: str, types: str | None) -> dict[str, _One]:
    """HMA signal name -> what to match, for the requested ``types`` (HMA's defaults)."""
    if content == "photo" and signals.media_kind != MediaKind.IMAGE.value:
        raise UnsupportedMedia("content_type is photo but the media is not an image")
    available: dict[str, _One] = {}
    for kind in SIGNAL_TYPES.values():
        value = kind.compute(signals)
        if value is None:
            continue
        one = _One(kind, value, kind.quality(signals))
        available[kind.name] = one  # SafeSpace's name, for any content
        hma_name = kind.exchange_name(_TE)
        if hma_name is not None and content in kind.threatexchange_content:
            available[hma_name] = one  # HMA's name, for the content HMA gives it to
    names = _DEFAULT_TYPES[content]
    if types is not None:
        names = tuple(n.strip() for n in types.split(",") if n.strip())
        if not names:
            raise InvalidSignal("empty signal type selection")
    for name in names:
        if name not in available:
            raise InvalidSignal(f"signal type {name!r} doesn't exist for {content} content")
    return {name: available[name] for name in names}


def _value(one: _One) -> str:
    return one.value


async def _fetch_and_hash(
    state: ServiceState, url: str, content_type: str | None, types: str | None
) -> dict[str, _One]:
    settings = state.settings
    data, header = await run_in_threadpool(
        fetch_url,
        url,
        settings.hma_url_prefixes(),
        max_bytes=settings.max_media_bytes,
        timeout=settings.url_fetch_timeout_seconds,
    )
    content = _content_type(content_type, header)
    signals = await run_in_threadpool(hash_bytes, data, limits=state.limits)
    return _hashes(signals, content, types)


async def _form_and_hash(request: Request, types: str | None) -> dict[str, _One]:
    """HMA's upload: one file, in a form field named by its content type (photo, video)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMedia("Missing multipart/form-data file upload")
    form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    try:
        files = [(name, v) for name, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise InvalidRequest("Missing multipart/form-data file upload")
        name, upload = files[0]
        content = _content_type(name, "")
        data = await upload.read()
    finally:
        await form.close()
    signals = await run_in_threadpool(hash_bytes, data, limits=get_state(request).limits)
    return _hashes(signals, content, types)


@router.get("/h/hash", summary="HMA: fetch media by URL and hash it")
async def hma_hash_url(
    state: State,
    key: MatchKey,
    url: Annotated[str, Query(max_length=4096)],
    content_type: str | None = None,
    types: str | None = None,
) -> dict[str, str]:
    hashes = await _fetch_and_hash(state, url, content_type, types)
    return {name: _value(one) for name, one in hashes.items()}


@router.post("/h/hash", summary="HMA: hash an uploaded file (form field photo or video)")
async def hma_hash_upload(
    request: Request, key: MatchKey, types: str | None = None
) -> dict[str, str]:
    hashes = await _form_and_hash(request, types)
    return {name: _value(one) for name, one in hashes.items()}


# --- matching ----------------------------------------------------------------------------


def _ready(request: Request) -> None:
    """Raise the 503 problem while the matcher is still loading."""
    _ = get_state(request).matcher.matcher


def _banks(banks: str | None) -> list[str] | None:
    names = [n.strip() for n in (banks or "").split(",") if n.strip()]
    return names or None


def _lookup(
    request: Request, one: _One | tuple[str, str], banks: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """Bank name -> matched entries, as HMA's lookup gives them (after allow banks)."""
    matcher = get_state(request).matcher.matcher
    query: Any = [one] if isinstance(one, tuple) else one.query()
    result = matcher.match(query, banks=banks)
    observe_matches(request, result.matches)
    out: dict[str, list[dict[str, Any]]] = {}
    for m in result.matches:
        out.setdefault(m.bank, []).append(
            {"bank_content_id": m.entry_id, "distance": str(m.distance)}
        )
    return out


def _checked(signal_type: str, signal: str) -> tuple[str, str]:
    kind = _kind(signal_type)
    return kind.name, kind.normalize(signal)


@router.get("/m/lookup", summary="HMA: which banks match a hash, or the media at a URL")
async def hma_lookup(
    request: Request,
    state: State,
    key: MatchKey,
    signal_type: str | None = None,
    signal: Annotated[str | None, Query(max_length=256)] = None,
    url: Annotated[str | None, Query(max_length=4096)] = None,
    content_type: str | None = None,
    types: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
) -> dict[str, Any]:
    """With ``signal_type`` and ``signal``: ``{bank: [{bank_content_id, distance}]}``.
    With ``url``: the same per signal type (``{"pdq": {bank: [...]}}``)."""
    _ready(request)  # 503 before any work while the banks are loading
    wanted = _banks(banks)
    if url:
        hashes = await _fetch_and_hash(state, url, content_type, types)
        by_type = {
            name: await run_in_threadpool(_lookup, request, one, wanted)
            for name, one in hashes.items()
        }
        if signal_type is not None:
            return by_type.get(signal_type, {})
        return by_type
    if not signal or not signal_type:
        raise InvalidSignal("Either url or both signal and signal_type are required")
    pair = _checked(signal_type, signal)
    return await run_in_threadpool(_lookup, request, pair, wanted)


@router.post("/m/lookup", summary="HMA: which banks match an uploaded file")
async def hma_lookup_upload(
    request: Request,
    key: MatchKey,
    banks: str | None = None,
    types: str | None = None,
    seed: str | None = None,
    bypass_coinflip: bool = False,
) -> dict[str, Any]:
    _ready(request)
    hashes = await _form_and_hash(request, types)
    wanted = _banks(banks)
    return {
        name: await run_in_threadpool(_lookup, request, one, wanted) for name, one in hashes.items()
    }


@router.get("/m/raw_lookup", summary="HMA: matching entry ids for a hash")
async def hma_raw_lookup(
    request: Request,
    key: MatchKey,
    signal_type: str,
    signal: Annotated[str, Query(max_length=256)],
    banks: str | None = None,
    include_distance: bool = False,
) -> dict[str, Any]:
    _ready(request)
    found = await run_in_threadpool(_lookup, request, _checked(signal_type, signal), _banks(banks))
    matches = [m for per_bank in found.values() for m in per_bank]
    matches.sort(key=lambda m: int(m["bank_content_id"]))
    if include_distance:
        return {"matches": matches}
    return {"matches": [m["bank_content_id"] for m in matches]}


# --- curation ----------------------------------------------------------------------------


class _BankCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    enabled_ratio: StrictFloat | StrictInt | None = None
    enabled: StrictBool | None = None


class _BankUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = None
    enabled_ratio: StrictFloat | StrictInt | None = None
    enabled: StrictBool | None = None


class _SignalMap(RootModel[dict[StrictStr, StrictStr]]):
    """``{signal type: hash}``."""


def _bank_config(bank: BankInfo) -> dict[str, Any]:
    return {"name": bank.name, "matching_enabled_ratio": 1.0 if bank.enabled else 0.0}


def _enabled(ratio: float | None, enabled: bool | None) -> bool | None:
    if ratio is not None:
        if ratio not in (0, 1):
            raise InvalidInput("SafeSpace banks are on or off: enabled_ratio must be 0 or 1")
        return ratio == 1
    return enabled


@router.get("/c/banks", summary="HMA: list banks")
def hma_banks(state: State, key: CurateKey) -> list[dict[str, Any]]:
    return [_bank_config(b) for b in state.banks.list_banks()]


@router.post("/c/banks", status_code=201, summary="HMA: create a bank")
async def hma_create_bank(request: Request, state: State, key: CurateKey) -> dict[str, Any]:
    body = await json_body(request, _BankCreate)
    enabled = _enabled(body.enabled_ratio, body.enabled)

    def create() -> BankInfo:
        actor = api_key_actor(key.id)
        bank = state.banks.create_bank(body.name, enabled=enabled is not False, actor=actor)
        state.matcher.refresh_now()
        return bank

    return _bank_config(await run_in_threadpool(create))


@router.get("/c/bank/{bank_name}", summary="HMA: one bank")
def hma_bank(bank_name: str, state: State, key: CurateKey) -> dict[str, Any]:
    return _bank_config(state.banks.get_bank(bank_name))


@router.put("/c/bank/{bank_name}", summary="HMA: enable or disable a bank")
async def hma_update_bank(
    bank_name: str, request: Request, state: State, key: CurateKey
) -> dict[str, Any]:
    body = await json_body(request, _BankUpdate)
    if body.name is not None and body.name != bank_name:
        raise InvalidInput("SafeSpace banks cannot be renamed")
    enabled = _enabled(body.enabled_ratio, body.enabled)

    def update() -> BankInfo:
        bank = state.banks.update_bank(bank_name, enabled=enabled, actor=api_key_actor(key.id))
        state.matcher.refresh_now()
        return bank

    return _bank_config(await run_in_threadpool(update))


@router.delete("/c/bank/{bank_name}", summary="HMA: delete a bank and its entries")
def hma_delete_bank(bank_name: str, state: State, key: CurateKey) -> dict[str, str]:
    with suppress(BankNotFound):  # HMA answers the same whether or not the bank existed
        state.banks.delete_bank(bank_name, actor=api_key_actor(key.id))
    state.matcher.refresh_now()
    return {"message": "Done"}


def _add_signals(
    state: ServiceState, bank: str, signals: dict[str, str], actor: str
) -> dict[str, Any]:
    if not signals:
        raise InvalidSignal("No signals given")
    pairs = {name: _checked(name, value) for name, value in signals.items()}
    records = [HashRecord(kind, value) for kind, value in pairs.values()]
    state.banks.add_entries(bank, records, actor=actor)
    state.matcher.refresh_now()
    ids = {
        (e.signal_type, e.value): e.id for e in entries_for(state.db, bank, list(pairs.values()))
    }
    entry_ids = {name: ids[pair] for name, pair in pairs.items()}
    return {
        "id": next(iter(entry_ids.values())),
        "signals": {name: pair[1] for name, pair in pairs.items()},
        "entry_ids": entry_ids,
    }


@router.post("/c/bank/{bank_name}/signal", summary="HMA: add hashes to a bank")
async def hma_add_signal(
    bank_name: str, request: Request, state: State, key: CurateKey
) -> dict[str, Any]:
    """Body: ``{"pdq": "...", "video_md5": "..."}``."""
    body = await json_body(request, _SignalMap)
    await run_in_threadpool(state.banks.get_bank, bank_name)
    actor = api_key_actor(key.id)
    return await run_in_threadpool(_add_signals, state, bank_name, dict(body.root), actor)


@router.post("/c/bank/{bank_name}/content", summary="HMA: hash a file (or URL) into a bank")
async def hma_add_content(
    bank_name: str,
    request: Request,
    state: State,
    key: CurateKey,
    url: Annotated[str | None, Query(max_length=4096)] = None,
    content_type: str | None = None,
    types: str | None = None,
) -> dict[str, Any]:
    await run_in_threadpool(state.banks.get_bank, bank_name)
    if url:
        hashes = await _fetch_and_hash(state, url, content_type, types)
    else:
        hashes = await _form_and_hash(request, types)
    low = [one.kind.name.upper() for one in hashes.values() if _low_quality(state, one)]
    if low:
        raise InvalidSignal(
            f"the image's {low[0]} quality is too low to bank it (flat or tiny image)"
        )
    signals = {n: _value(one) for n, one in hashes.items()}
    actor = api_key_actor(key.id)
    return await run_in_threadpool(_add_signals, state, bank_name, signals, actor)


def _low_quality(state: ServiceState, one: _One) -> bool:
    quality = one.quality
    return (
        one.kind.quality_field is not None
        and quality is not None
        and quality < state.settings.min_pdq_quality
    )


@router.delete("/c/bank/{bank_name}/content/{content_id}", summary="HMA: remove an entry")
def hma_delete_content(
    bank_name: str, content_id: int, state: State, key: CurateKey
) -> dict[str, int]:
    state.banks.get_bank(bank_name)
    try:
        entry = state.banks.get_entry(content_id)
    except NotFound:
        return {"deleted": 0}
    if entry.bank != bank_name:
        return {"deleted": 0}
    deleted = state.banks.remove_entries([content_id], actor=api_key_actor(key.id))
    state.matcher.refresh_now()
    return {"deleted": deleted}
