"""Routes shaped like Meta's Hasher-Matcher-Actioner (HMA) API, so an HMA client can switch.

Same paths, parameters, field names and success shapes as HMA's ``/h`` (hashing), ``/m``
(matching) and ``/c`` (curation) blueprints; what differs is documented in
docs/hma-compat.md: an API key is required, errors are problem+json, PDQ distances are per
bank, and media is fetched by URL only from prefixes the operator allowed.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictStr, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.routing import BaseRoute

from safespace.access import KeyInfo
from safespace.api._auth import NETWORK_ACTOR, NETWORK_KEY_ID
from safespace.api._deps import CurateKey, MatchKey, State
from safespace.api._lookups import entries_for
from safespace.api._metrics import observe_matches
from safespace.api._problems import PROBLEM_RESPONSES, validation_problem
from safespace.api._state import ServiceState, get_state
from safespace.api._uploads import json_body
from safespace.banks import BankInfo, EntryInfo, Matcher, fetch_url
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
    TextSource,
    exchange_type,
    get_signal_type,
    hash_bytes,
)

__all__ = ["lookup_get", "raw_lookup_get", "router"]

router = APIRouter(tags=["hma-compatible"], responses=PROBLEM_RESPONSES)

_M = TypeVar("_M", bound=BaseModel)
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


def _content_kind(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _form_and_hash(
    request: Request, types: str | None, fields: dict[str, Any] | None = None
) -> dict[str, _One]:
    """HMA's upload: one file, in a form field named by its content type (photo, video).
    The form's text fields (``content_id``, ``metadata``, ``note``...) go into ``fields``."""
    if _content_kind(request) != "multipart/form-data":
        raise UnsupportedMedia("Missing multipart/form-data file upload")
    form = await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
    try:
        if fields is not None:
            fields.update((k, v) for k, v in form.multi_items() if isinstance(v, str))
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


def _ready(request: Request) -> Matcher:
    """The loaded matcher; the 503 problem while it is still loading."""
    return get_state(request).matcher.matcher


def _banks(banks: str | None) -> list[str] | None:
    names = [n.strip() for n in (banks or "").split(",") if n.strip()]
    return names or None


async def _lookup(
    request: Request, matcher: Matcher, one: _One | tuple[str, str], banks: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """Bank name -> matched entries, as HMA's lookup gives them (after allow banks).

    As ``POST /v1/match`` does: a miss or a hit whose details are cached is answered on the
    event loop (no I/O); only a hit that needs the database goes to the thread pool."""
    if isinstance(one, tuple) and _is_link(one[0]):
        return await _link_lookup(request, matcher, one[1], banks)
    query: Any = [one] if isinstance(one, tuple) else one.query()
    result = matcher.match_cached(query, banks=banks)
    if result is None:
        result = await run_in_threadpool(matcher.match, query, banks=banks)
    observe_matches(request, result.matches)
    out: dict[str, list[dict[str, Any]]] = {}
    for m in result.matches:
        out.setdefault(m.bank, []).append(
            {"bank_content_id": m.entry_id, "distance": str(m.distance)}
        )
    return out


def _is_link(name: str) -> bool:
    """A URL signal (HMA's ``url``, python-threatexchange's URLSignal): a link, not a hash."""
    kind = get_signal_type(name)
    return kind.text_source is TextSource.LINKS and kind.exchange_name(_TE) is not None


async def _link_lookup(
    request: Request, matcher: Matcher, url: str, banks: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    """A URL looked up as a link in a post is: canonicalised, then its host-suffix and
    path-prefix expressions looked up in every URL bank, plain or hashed (Safe Browsing's
    rules), so a listed page matches with ``www.``, other query strings or a fragment."""
    found = await run_in_threadpool(matcher.match_text, url, banks=banks)
    links = [t.match for t in found.matches if _is_link_source(t.match.signal_type)]
    observe_matches(request, links)
    out: dict[str, list[dict[str, Any]]] = {}
    for m in links:
        entries = out.setdefault(m.bank, [])
        if all(e["bank_content_id"] != m.entry_id for e in entries):
            entries.append({"bank_content_id": m.entry_id, "distance": str(m.distance)})
    return out


_MAX_EXPRESSION = 256  # what a listed URL expression may be; a longer link is looked up


def _is_link_source(name: str) -> bool:
    return get_signal_type(name).text_source is TextSource.LINKS


def _checked(signal_type: str, signal: str, *, lookup: bool = False) -> tuple[str, str]:
    """The type and normalised value; a URL to look up stays as given (see _link_lookup)."""
    kind = _kind(signal_type)
    if lookup and _is_link(kind.name):  # a link, as a post has it: canonicalised when looked up
        try:
            kind.normalize(signal)  # refused here if it is not a URL with a host
        except InvalidSignal:
            if len(signal.strip()) <= _MAX_EXPRESSION:  # a long page is fine to look up
                raise
        return kind.name, signal.strip()
    return kind.name, kind.normalize(signal)


# As the routes' Query(max_length=...) say; a vPDQ signal string is some 80 characters a frame.
_MAX_SIGNAL = 65_536
_MAX_QUERY = {"signal": _MAX_SIGNAL, "url": 4096}
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def _query(request: Request) -> dict[str, str]:
    """The query string, checked as the route's parameters are (for the hot path)."""
    params = dict(request.query_params)
    for name, most in _MAX_QUERY.items():
        value = params.get(name)
        if value is not None and len(value) > most:
            raise validation_problem(
                [
                    {
                        "loc": ("query", name),
                        "msg": f"String should have at most {most} characters",
                        "type": "string_too_long",
                    }
                ]
            )
    return params


def _flag(params: dict[str, str], name: str) -> bool:
    """A boolean query parameter as HMA's models read one (``true``, ``1``, ``false``...)."""
    raw = params.get(name)
    if raw is None or raw.lower() in _FALSE:
        return False
    if raw.lower() in _TRUE:
        return True
    raise validation_problem(
        [
            {
                "loc": ("query", name),
                "msg": "Input should be a valid boolean, unable to interpret input",
                "type": "bool_parsing",
            }
        ]
    )


async def lookup_get(request: Request) -> dict[str, Any]:
    """``GET /m/lookup`` from its query string: the route and the hot path answer with it.

    With ``signal_type`` and ``signal``: ``{bank: [{bank_content_id, distance}]}``. With
    ``url``: the same per signal type (``{"pdq": {bank: [...]}}``), or only ``signal_type``'s.
    """
    params = _query(request)
    matcher = _ready(request)  # 503 before any work while the banks are loading
    wanted = _banks(params.get("banks"))
    signal_type = params.get("signal_type")
    url = params.get("url")
    if url:
        state = get_state(request)
        hashes = await _fetch_and_hash(state, url, params.get("content_type"), params.get("types"))
        by_type = {
            name: await _lookup(request, matcher, one, wanted) for name, one in hashes.items()
        }
        if signal_type is not None:
            return by_type.get(signal_type, {})
        return by_type
    signal = params.get("signal")
    if not signal or not signal_type:
        raise InvalidSignal("Either url or both signal and signal_type are required")
    return await _lookup(request, matcher, _checked(signal_type, signal, lookup=True), wanted)


async def raw_lookup_get(request: Request) -> dict[str, Any]:
    """``GET /m/raw_lookup`` from its query string (the route and the hot path)."""
    params = _query(request)
    include_distance = _flag(params, "include_distance")
    matcher = _ready(request)
    signal_type, signal = params.get("signal_type"), params.get("signal")
    if signal_type is None or signal is None:
        missing = "signal_type" if signal_type is None else "signal"
        raise validation_problem(
            [{"loc": ("query", missing), "msg": "Field required", "type": "missing"}]
        )
    found = await _lookup(
        request, matcher, _checked(signal_type, signal, lookup=True), _banks(params.get("banks"))
    )
    matches = [m for per_bank in found.values() for m in per_bank]
    matches.sort(key=lambda m: int(m["bank_content_id"]))
    if include_distance:
        return {"matches": matches}
    return {"matches": [m["bank_content_id"] for m in matches]}


@router.get("/m/lookup", summary="HMA: which banks match a hash, or the media at a URL")
async def hma_lookup(
    request: Request,
    key: MatchKey,
    signal_type: str | None = None,
    signal: Annotated[str | None, Query(max_length=_MAX_SIGNAL)] = None,
    url: Annotated[str | None, Query(max_length=4096)] = None,
    content_type: str | None = None,
    types: str | None = None,
    banks: str | None = None,
    seed: str | None = None,
    bypass_coinflip: str | None = None,
) -> dict[str, Any]:
    """With ``signal_type`` and ``signal``: ``{bank: [{bank_content_id, distance}]}``.
    With ``url``: the same per signal type (``{"pdq": {bank: [...]}}``).

    Answered below routing by the hot path (``api/_hotpath.py``), with the same function."""
    return await lookup_get(request)


@router.post("/m/lookup", summary="HMA: which banks match an uploaded file")
async def hma_lookup_upload(
    request: Request,
    key: MatchKey,
    banks: str | None = None,
    types: str | None = None,
    seed: str | None = None,
    bypass_coinflip: str | None = None,
) -> dict[str, Any]:
    matcher = _ready(request)
    hashes = await _form_and_hash(request, types)
    wanted = _banks(banks)
    return {name: await _lookup(request, matcher, one, wanted) for name, one in hashes.items()}


@router.get("/m/raw_lookup", summary="HMA: matching entry ids for a hash")
async def hma_raw_lookup(
    request: Request,
    key: MatchKey,
    signal_type: str,
    signal: Annotated[str, Query(max_length=_MAX_SIGNAL)],
    banks: str | None = None,
    include_distance: bool = False,
) -> dict[str, Any]:
    """Answered below routing by the hot path (``api/_hotpath.py``), with the same function."""
    return await raw_lookup_get(request)


# --- curation ----------------------------------------------------------------------------


# HMA's request models are pydantic's lax ones: ``enabled_ratio`` may be ``1``, ``1.0`` or
# ``"1"`` (ROOST Coop sends a string), ``enabled`` ``true`` or ``"true"``.
class _BankCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    enabled_ratio: float | None = None
    enabled: bool | None = None


class _BankUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr | None = None
    enabled_ratio: float | None = None
    enabled: bool | None = None


class _SignalMap(RootModel[dict[StrictStr, Any]]):
    """``{signal type: hash}``, and optionally ``note``."""


class _Metadata(BaseModel):
    """HMA's ``BankedContentMetadata`` (``collab`` is HMA's own and dropped)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    content_id: str | None = None
    content_uri: str | None = None
    json_data: dict[str, Any] | None = Field(default=None, alias="json")


class _ContentBody(BaseModel):
    """``POST /c/bank/NAME/content?url=...`` may carry a JSON body with metadata and a note."""

    model_config = ConfigDict(extra="ignore")

    metadata: dict[str, Any] | None = None
    note: Any = None
    content_id: Any = None
    content_uri: Any = None


_METADATA_KEYS = frozenset({"content_id", "content_uri", "json", "collab"})
_MAX_NOTE = 255  # HMA's limit
# Where a bank entry keeps what HMA's client said about the content (its ``extra`` fields).
_EXTRA_ID, _EXTRA_URI, _EXTRA_JSON = "content_id", "content_uri", "metadata"


@dataclass(frozen=True)
class _About:
    """What an HMA client says about banked content: its metadata and note."""

    content_id: str | None = None
    content_uri: str | None = None
    data: dict[str, Any] | None = None
    note: str | None = None

    def extra(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.content_id is not None:
            out[_EXTRA_ID] = self.content_id
        if self.content_uri is not None:
            out[_EXTRA_URI] = self.content_uri
        if self.data is not None:
            out[_EXTRA_JSON] = json.dumps(self.data, separators=(",", ":"), sort_keys=True)
        return out


def _note(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("note should be a string")
    if len(value) > _MAX_NOTE:
        raise InvalidInput(f"note must be at most {_MAX_NOTE} characters")
    return value


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a numeric content id, as HMA's model coerces it
    raise InvalidInput(f"{name} should be a string")


def _about(fields: dict[str, Any]) -> _About:
    """Metadata and note from the query string, a form or a JSON body.

    ``metadata`` is HMA's object (``content_id``, ``content_uri``, ``json``) or, as ROOST Coop
    sends it, the ``json`` payload itself; in a form or query string it is JSON text.
    ``content_id`` and ``content_uri`` may also come as fields of their own (Coop)."""
    raw = fields.get("metadata")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidInput("metadata must be valid JSON") from None
    meta = _Metadata()
    if raw is not None:
        if not isinstance(raw, dict):
            raise InvalidInput("metadata should be a json object")
        if set(raw) <= _METADATA_KEYS:
            given = {k: v for k, v in raw.items() if k != "collab"}
            given = {k: _text(k, v) if k != "json" else v for k, v in given.items()}
            try:
                meta = _Metadata.model_validate(given)
            except ValidationError as exc:
                raise InvalidInput(f"Invalid metadata: {exc.errors()[0]['msg']}") from None
        else:
            meta = _Metadata(json_data=raw)
    return _About(
        content_id=_text("content_id", fields.get("content_id")) or meta.content_id,
        content_uri=_text("content_uri", fields.get("content_uri")) or meta.content_uri,
        data=meta.json_data,
        note=_note(fields.get("note")),
    )


async def _hma_json(request: Request, model: type[_M]) -> _M:
    """A JSON body as HMA reads one: malformed JSON is a 400, as it is there."""
    try:
        return await json_body(request, model)
    except InvalidRequest as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors or ()):
            raise InvalidInput("The request body is not valid JSON") from None
        raise


def _actor(key: KeyInfo) -> str:
    """Who made a change: the API key, or the keyless HMA network (docs/hma-compat.md)."""
    return NETWORK_ACTOR if key.id == NETWORK_KEY_ID else api_key_actor(key.id)


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
    body = await _hma_json(request, _BankCreate)
    enabled = _enabled(body.enabled_ratio, body.enabled)

    def create() -> BankInfo:
        actor = _actor(key)
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
    body = await _hma_json(request, _BankUpdate)
    if body.name is not None and body.name != bank_name:
        raise InvalidInput("SafeSpace banks cannot be renamed")
    enabled = _enabled(body.enabled_ratio, body.enabled)

    def update() -> BankInfo:
        bank = state.banks.update_bank(bank_name, enabled=enabled, actor=_actor(key))
        state.matcher.refresh_now()
        return bank

    return _bank_config(await run_in_threadpool(update))


@router.delete("/c/bank/{bank_name}", summary="HMA: delete a bank and its entries")
def hma_delete_bank(bank_name: str, state: State, key: CurateKey) -> dict[str, str]:
    with suppress(BankNotFound):  # HMA answers the same whether or not the bank existed
        state.banks.delete_bank(bank_name, actor=_actor(key))
    state.matcher.refresh_now()
    return {"message": "Done"}


def _add_signals(
    state: ServiceState, bank: str, signals: dict[str, Any], actor: str, about: _About
) -> dict[str, Any]:
    if not signals:
        raise InvalidSignal("No signals given")
    for name, value in signals.items():
        if not isinstance(value, str):  # HMA: "Invalid pdq signal", a 400
            raise InvalidSignal(f"Invalid {name} signal: expected a string")
    pairs = {name: _checked(name, value) for name, value in signals.items()}
    extra = about.extra()
    records = [
        HashRecord(kind, value, note=about.note, extra=extra) for kind, value in pairs.values()
    ]
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
    """Body: ``{"pdq": "...", "video_md5": "..."}``, optionally with ``"note"``."""
    body = await _hma_json(request, _SignalMap)
    await run_in_threadpool(state.banks.get_bank, bank_name)
    signals = dict(body.root)
    about = _About(note=_note(signals.pop("note", None)))
    actor = _actor(key)
    return await run_in_threadpool(_add_signals, state, bank_name, signals, actor, about)


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
    fields: dict[str, Any] = dict(request.query_params)
    if url:
        if _content_kind(request) == "application/json":
            body = await _hma_json(request, _ContentBody)
            fields.update({k: v for k, v in body.model_dump().items() if v is not None})
        hashes = await _fetch_and_hash(state, url, content_type, types)
    else:
        hashes = await _form_and_hash(request, types, fields)
    about = _about(fields)
    low = [one.kind.name.upper() for one in hashes.values() if _low_quality(state, one)]
    if low:
        raise InvalidSignal(
            f"the image's {low[0]} quality is too low to bank it (flat or tiny image)"
        )
    signals = {n: _value(one) for n, one in hashes.items()}
    actor = _actor(key)
    return await run_in_threadpool(_add_signals, state, bank_name, signals, actor, about)


def _low_quality(state: ServiceState, one: _One) -> bool:
    quality = one.quality
    return (
        one.kind.quality_field is not None
        and quality is not None
        and quality < state.settings.min_pdq_quality
    )


# HMA's BankContentConfig: disable_until_ts is 1 for enabled content, 0 for disabled.
_ENABLED_TS, _DISABLED_TS = 1, 0


def _content(
    entry: EntryInfo, bank: BankInfo, include_signals: bool, include_metadata: bool
) -> dict[str, Any]:
    """An entry as HMA's ``BankContentResponse`` (optional members left out when empty)."""
    out: dict[str, Any] = {
        "id": entry.id,
        "disable_until_ts": _ENABLED_TS if entry.enabled else _DISABLED_TS,
        "original_media_uri": None,
        "bank": _bank_config(bank),
    }
    if include_signals:
        kind = get_signal_type(entry.signal_type)
        out["signals"] = {kind.exchange_name(_TE) or kind.name: entry.value}
    extra = entry.extra
    metadata: dict[str, Any] = {}
    for name in (_EXTRA_ID, _EXTRA_URI):
        if extra.get(name) is not None:
            metadata[name] = str(extra[name])
    data = extra.get(_EXTRA_JSON)
    if isinstance(data, str):
        with suppress(ValueError):
            data = json.loads(data)
    if isinstance(data, dict):
        metadata["json"] = data
    if include_metadata and metadata:
        out["metadata"] = metadata
    if entry.note:
        out["note"] = entry.note
    return out


@router.get("/c/bank/{bank_name}/content/{content_id}", summary="HMA: one banked entry")
def hma_get_content(
    bank_name: str,
    content_id: int,
    state: State,
    key: CurateKey,
    include_signals: bool = False,
    include_metadata: bool = True,
) -> dict[str, Any]:
    """HMA's ``BankContentResponse``: ``id``, ``disable_until_ts``, ``bank``, and ``signals``
    (with ``include_signals=true``), ``metadata`` and ``note`` when there are any."""
    bank = state.banks.get_bank(bank_name)
    try:
        entry = state.banks.get_entry(content_id)
    except NotFound:
        entry = None
    if entry is None or entry.bank != bank_name:
        raise NotFound(f"content '{content_id}' not found")
    return _content(entry, bank, include_signals, include_metadata)


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
    deleted = state.banks.remove_entries([content_id], actor=_actor(key))
    state.matcher.refresh_now()
    return {"deleted": deleted}


# --- status ------------------------------------------------------------------------------
# HMA's own health routes, public as there (and as /healthz and /readyz are): plain text.


@router.get("/status", response_class=PlainTextResponse, summary="HMA: ready to serve")
def hma_status(state: State) -> PlainTextResponse:
    """``I-AM-ALIVE`` (200) once the banks are loaded and fresh; 503 with ``INDEX-NOT-LOADED``
    while loading, ``INDEX-STALE`` when refreshes fail (``/readyz`` says why)."""
    status = state.matcher.status()
    if status["ready"]:
        return PlainTextResponse("I-AM-ALIVE")
    loaded = "seq" in status or "not refreshed" in str(status.get("detail", ""))
    return PlainTextResponse("INDEX-STALE" if loaded else "INDEX-NOT-LOADED", status_code=503)


@router.get("/status/live", response_class=PlainTextResponse, summary="HMA: the process answers")
def hma_status_live() -> PlainTextResponse:
    return PlainTextResponse("I-AM-ALIVE")


@router.get("/site-map", summary="HMA: every route's path")
def hma_site_map(request: Request) -> list[str]:
    # The API's routes as the OpenAPI document lists them (included routers are not flat in
    # app.routes), and the app's own (/openapi.json, /docs, /static).
    documented = request.app.openapi().get("paths", {})
    routes: list[BaseRoute] = request.app.routes
    own = {str(path) for r in routes if isinstance(path := getattr(r, "path", None), str)}
    return sorted(own | {str(p) for p in documented})
