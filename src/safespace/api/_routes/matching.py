"""``/v1/hash`` and ``/v1/match``: the endpoints an upload pipeline calls (scope ``match``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from safespace.access import KeyInfo, check_content_id, record_matches
from safespace.api._deps import MatchKey, State, review_runtime
from safespace.api._freshness import MatcherHolder
from safespace.api._metrics import observe_matches
from safespace.api._problems import PROBLEM_RESPONSES
from safespace.api._schemas import MatchRequest
from safespace.api._state import ServiceState, get_state
from safespace.api._uploads import (
    form_bool,
    form_seconds,
    is_multipart,
    json_body,
    openapi_body,
    read_upload,
)
from safespace.banks import Matcher
from safespace.banks._match_results import Match, MatchResult
from safespace.banks._text_match import TextMatch, TextMatchResult
from safespace.errors import InvalidInput, InvalidSignal
from safespace.reports._queue_video import note_video
from safespace.retro import ContentStore
from safespace.signals import (
    SIGNAL_TYPES,
    IndexKind,
    MediaKind,
    hash_bytes,
    hash_video,
    normalize,
    pdq_dihedral_from_bytes,
    signal_types_with_index,
)

__all__ = ["match_json", "router"]

router = APIRouter(prefix="/v1", tags=["matching"], responses=PROBLEM_RESPONSES)
_MAX_BANKS = 100


# Every field a JSON query may hold, in order: each signal type, then its quality field.
_FIELDS = [f for k in SIGNAL_TYPES.values() for f in (k.name, k.quality_field) if f]
_QUALITY_FIELDS = frozenset(k.quality_field for k in SIGNAL_TYPES.values() if k.quality_field)
# The signal type a video's frame hashes are (vPDQ), and the key /v1/hash lists them under.
_VIDEO_FRAMES = next(
    t.name for t in signal_types_with_index(IndexKind.FRAMES) if MediaKind.VIDEO in t.media
)


class _Query(SimpleNamespace):
    """Hashes sent as JSON; quacks like :class:`safespace.signals.Signals` for the matcher:
    an attribute per signal type given (and its quality field)."""

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name, None) for name in _FIELDS}


def _query(signals: dict[str, str | int]) -> _Query:
    found: dict[str, Any] = {}
    for name, value in signals.items():
        if name in _QUALITY_FIELDS:
            if not isinstance(value, int) or not 0 <= value <= 100:
                raise InvalidInput(f"{name} must be a whole number 0..100")
            found[name] = value
            continue
        if not isinstance(value, str):
            raise InvalidSignal(f"{name}: a hash must be a string of hex digits")
        kind, canonical = normalize(name, value)
        if kind in found:
            raise InvalidSignal(f"{kind} given twice")
        found[kind] = canonical
    if not set(SIGNAL_TYPES) & set(found):
        names = ", ".join(SIGNAL_TYPES)
        raise InvalidSignal(f"give text, or at least one hash in signals: {names}")
    return _Query(**found)


def _banks_field(values: Iterable[str]) -> list[str] | None:
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if len(names) > _MAX_BANKS:
        raise InvalidInput(f"at most {_MAX_BANKS} banks per request")
    return names or None


def _entry(m: Match) -> dict[str, Any]:
    return {
        "entry_id": m.entry_id,
        "signal_type": m.signal_type,
        "value": m.value,
        "distance": m.distance,
        **dict(m.frames or {}),  # a video's: how much matched and where (seconds)
        "metadata": dict(m.metadata),
        **({"exchange": m.exchange} if m.exchange is not None else {}),  # from a bank source
    }


class _Video:
    """An uploaded video's signals plus its frame hashes, for the matcher (which reads an
    attribute named after each signal type)."""

    def __init__(self, signals: Any, frames: list[Any]) -> None:
        self._signals = signals
        setattr(self, _VIDEO_FRAMES, frames)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._signals, name)


def _grouped(holder: MatcherHolder, items: Iterable[tuple[Match, dict[str, Any]]]) -> list[Any]:
    groups: dict[str, dict[str, Any]] = {}
    for match, entry in items:
        if match.bank not in groups:
            meta = holder.bank(match.bank)
            bank = meta.to_dict() if meta else {"name": match.bank, "kind": match.bank_kind}
            groups[match.bank] = {"bank": bank, "entries": []}
        groups[match.bank]["entries"].append(entry)
    return list(groups.values())


def _render(state: ServiceState, result: MatchResult) -> dict[str, Any]:
    holder = state.matcher
    suppressed = []
    for s in result.suppressed:
        by = {"bank": s.by.bank, **_entry(s.by)}
        by.pop("metadata")
        suppressed.append((s.match, {**_entry(s.match), "suppressed_by": by}))
    return {
        "matched": result.matched,
        "low_quality": result.low_quality,
        "pdq_quality": result.pdq_quality,
        "matches": _grouped(holder, ((m, _entry(m)) for m in result.matches)),
        "allowed": _grouped(holder, ((m, _entry(m)) for m in result.allowed)),
        "suppressed": _grouped(holder, suppressed),
    }


@router.post(
    "/hash",
    summary="Hash an uploaded image or video",
    openapi_extra=openapi_body(
        form={
            "dihedral": "true: also return the PDQ hashes of the 8 rotations and flips.",
            "seconds_per_hash": "Videos: one vPDQ frame per this many seconds (default 1; 0: all).",
        }
    ),
)
async def hash_upload(request: Request, state: State, key: MatchKey) -> dict[str, Any]:
    """PDQ (images), its quality, MD5 and SHA-256; a video's vPDQ frames; nothing is stored."""
    upload = await read_upload(request, allowed={"dihedral", "seconds_per_hash"})
    dihedral = form_bool(upload.get("dihedral"), "dihedral")
    seconds = form_seconds(upload.get("seconds_per_hash"), "seconds_per_hash", 1.0)
    signals = await run_in_threadpool(hash_bytes, upload.data, limits=state.limits)
    out: dict[str, Any] = signals.as_dict()
    out["pdq_matchable"] = signals.pdq is not None and not signals.pdq_low_quality
    if dihedral and signals.pdq is not None:
        out["pdq_dihedral"] = await run_in_threadpool(
            pdq_dihedral_from_bytes, upload.data, limits=state.limits
        )
    if signals.media_kind == "video":
        frames = await run_in_threadpool(
            hash_video, bytes(upload.data), seconds_per_hash=seconds, threads=1
        )
        out[_VIDEO_FRAMES] = [f.as_dict() for f in frames]
    return out


@router.post(
    "/match",
    summary="Match an upload, or hashes, against the banks",
    openapi_extra=openapi_body(
        json_model=MatchRequest,
        form={
            "dihedral": "true: also match rotated and flipped copies.",
            "banks": "Comma-separated bank names to report (default: all).",
            "content_id": "Your reference for the content; recorded with each match.",
            "text": "The post's text: listed links and keywords, with spans (never stored).",
            "seconds_per_hash": "Videos: one vPDQ frame per this many seconds (default 1; 0: all).",
            "crop_borders": "Videos: true: remove black bars (letterbox) before hashing frames.",
        },
    ),
)
async def match(request: Request, state: State, key: MatchKey) -> dict[str, Any]:
    """Matches grouped by bank, allow-bank matches, and what those suppressed."""
    if not is_multipart(request):
        return await match_json(request, key)  # as answered by safespace.api._hotpath
    matcher = state.matcher.matcher  # 503 before any work while the banks are loading
    fields = {"dihedral", "banks", "content_id", "text", "seconds_per_hash", "crop_borders"}
    upload = await read_upload(request, allowed=fields)
    dihedral = form_bool(upload.get("dihedral"), "dihedral")
    seconds = form_seconds(upload.get("seconds_per_hash"), "seconds_per_hash", 1.0)
    crop = form_bool(upload.get("crop_borders"), "crop_borders")
    video: bytes | None = None  # a video upload: kept for its review item's thumbnails
    banks = _banks_field(upload.fields.get("banks", []))
    content_id = upload.get("content_id")
    if content_id is not None:
        check_content_id(content_id)
    signals = await run_in_threadpool(hash_bytes, upload.data, limits=state.limits)
    echo, asked = signals.as_dict(), cast(Any, signals)
    if signals.media_kind == "video":  # matched by its frames too, as /v1/hash hashes them
        frames = await run_in_threadpool(
            hash_video, bytes(upload.data), seconds_per_hash=seconds, threads=1,
            crop_borders=crop,
        )  # fmt: skip
        asked = _Video(signals, frames)
        echo[f"{_VIDEO_FRAMES}_frames"] = len(frames)
        video = bytes(upload.data)
    query = _Asked(asked, echo, dihedral, banks, content_id, upload.get("text"), video)
    return await _answer(request, key, matcher, query)


async def match_json(request: Request, key: KeyInfo) -> dict[str, Any]:
    """``POST /v1/match`` with JSON signals, for the route and for the hot path."""
    matcher = get_state(request).matcher.matcher  # 503 before any work while loading
    body = await json_body(request, MatchRequest)
    content_id = body.content_id
    banks = _banks_field(body.banks) if body.banks is not None else None
    if content_id is not None:
        check_content_id(content_id)
    if body.text is not None and not body.signals:  # text alone
        query = _Asked(None, {}, body.dihedral, banks, content_id, body.text)
        return await _answer(request, key, matcher, query)
    signals = _query(body.signals)
    query = _Asked(signals, signals.to_dict(), body.dihedral, banks, content_id, body.text)
    return await _answer(request, key, matcher, query)


def _remember(state: ServiceState, content_id: str, signals: Any) -> int:
    """Retention on: keep the content's hashes for retro-matching (docs/retro.md)."""
    store = ContentStore.from_settings(state.db, state.settings)
    return store.remember(content_id, signals, min_quality=state.settings.min_pdq_quality)


@dataclass(frozen=True)
class _Asked:
    """One match request, whichever way it came: signals (or JSON hashes) and options."""

    signals: Any
    echo: dict[str, Any]
    dihedral: bool
    banks: list[str] | None
    content_id: str | None
    text: str | None = None  # a post's text: matched for links and keywords, never stored
    video: bytes | None = None  # an uploaded video (its review item's thumbnails)


async def _answer(
    request: Request, key: KeyInfo, matcher: Matcher, asked: _Asked
) -> dict[str, Any]:
    state = get_state(request)
    query, echo, dihedral, banks = asked.signals, asked.echo, asked.dihedral, asked.banks
    content_id = asked.content_id
    # Misses and cached hits are answered on the event loop (microseconds, no I/O); only a
    # hit whose details must be read from the database goes to the thread pool.
    result = MatchResult() if query is None else None  # None: text alone
    if query is not None:
        result = matcher.match_cached(query, dihedral=dihedral, banks=banks)
    if result is None:
        result = await run_in_threadpool(matcher.match, query, dihedral=dihedral, banks=banks)
    text = None
    if asked.text is not None:
        text = await run_in_threadpool(matcher.match_text, asked.text, banks=banks)
    found = [*result.matches, *(t.match for t in text.matches)] if text else result.matches
    observe_matches(request, found)
    if content_id is not None and query is not None and state.settings.content_retention:
        await run_in_threadpool(_remember, state, content_id, query)
    recorded = 0
    if content_id is not None and found:
        # Text matches record their expression and span (and, only if the operator keeps
        # excerpts, the sealed text around it); never the text itself.
        events: list[Match | TextMatch] = [*result.matches, *(text.matches if text else ())]
        seal = _excerpt_seal(state, content_id, asked.text) if text and text.matches else None
        recorded = await run_in_threadpool(
            record_matches, state.db, content_id, events, key.id, _own(echo), dihedral=dihedral,
            excerpt=seal,
        )  # fmt: skip
    if recorded and any(m.frames for m in result.matches):  # a video's ranges, on its item
        await run_in_threadpool(_note_video, request, str(content_id), result, asked)
    out = {"content_id": content_id, "signals": echo, **_render(state, result)}
    if text is not None:
        out["matched"] = result.matched or text.matched
        out["text"] = _render_text(state, text)
    return {**out, "events_recorded": recorded}


def _own(echo: dict[str, Any]) -> dict[str, Any]:
    """The caller's hashes an event can keep: a ``digest_stored`` type's value (a video's
    vPDQ signal string) is longer than ``match_events.query_value``, so it is left out."""
    long = {name for name, kind in SIGNAL_TYPES.items() if kind.digest_stored}
    return {k: v for k, v in echo.items() if k not in long}


def _note_video(request: Request, content_id: str, result: MatchResult, asked: _Asked) -> None:
    """The matched ranges, the upload's exact hashes (its MD5: what a referral names) and,
    with media storage on, thumbnails of the matched frames go onto the review item."""
    review = review_runtime(request)
    exact = {t.name for t in signal_types_with_index(IndexKind.EXACT)}
    hashes = {k: v for k, v in asked.echo.items() if k in exact and isinstance(v, str) and v}
    note_video(review.queue, content_id, result.matches, hashes, asked.video)


def _excerpt_seal(
    state: ServiceState, content_id: str, text: str | None
) -> Callable[[TextMatch], tuple[bytes, str, bytes] | None] | None:
    """Seals the text around each match, when SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS allows."""
    from safespace.reports._text_excerpts import ExcerptSealer

    sealer = ExcerptSealer.from_settings(state.settings)
    if sealer is None or text is None:
        return None

    def seal(t: TextMatch) -> tuple[bytes, str, bytes] | None:
        sealed = sealer.seal(content_id, text, t.start, t.end)
        return sealed.data, sealed.key_id, sealed.wrapped_key

    return seal


def _text_entry(t: TextMatch) -> dict[str, Any]:
    entry = _entry(t.match)
    del entry["distance"]
    entry.update(start=t.start, end=t.end, via=t.via, exact_span=t.exact_span)
    return entry


def _render_text(state: ServiceState, result: TextMatchResult) -> dict[str, Any]:
    """Text matches by bank, each entry with its span; the text itself is never echoed."""
    holder = state.matcher
    return {
        "matched": result.matched,
        "matches": _grouped(holder, ((t.match, _text_entry(t)) for t in result.matches)),
        "allowed": _grouped(holder, ((t.match, _text_entry(t)) for t in result.allowed)),
        "suppressed": _grouped(holder, ((t.match, _text_entry(t)) for t in result.suppressed)),
    }
