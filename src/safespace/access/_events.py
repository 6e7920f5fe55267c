"""Match events: which of a caller's content ids matched which bank entry, and with which key.

Only identifiers, distances and the caller's own hash (``query_value``) are kept: never image
bytes, never client addresses. The caller's hash is what a reviewer's "false positive" puts in
the allow bank; the entry's hash would only allow content at distance 0 from the list entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from safespace.banks._match_results import Match
from safespace.banks._text_match import TextMatch
from safespace.errors import InvalidInput, InvalidSignal
from safespace.signals import IndexKind, get_signal_type
from safespace.store import Database, MatchEvent
from safespace.store._models import utcnow

__all__ = [
    "MAX_CONTENT_ID",
    "MatchEventInfo",
    "check_content_id",
    "list_events",
    "record_matches",
]

MAX_CONTENT_ID = 256


def check_content_id(content_id: str) -> str:
    """A caller's own reference for the content: printable, 1..256 characters."""
    if not isinstance(content_id, str) or not 1 <= len(content_id) <= MAX_CONTENT_ID:
        raise InvalidInput(f"content_id must be 1..{MAX_CONTENT_ID} characters")
    if not content_id.isprintable():
        raise InvalidInput("content_id must be printable text")
    return content_id


@dataclass(frozen=True)
class MatchEventInfo:
    id: int
    content_id: str
    bank: str
    entry_id: int
    signal_type: str
    distance: int
    created_at: datetime
    api_key_id: int | None
    query_value: str | None = None
    expression: str | None = None  # a text match: the listed expression, and its span
    span_start: int | None = None
    span_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "content_id": self.content_id,
            "bank": self.bank,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "api_key_id": self.api_key_id,
            "query_value": self.query_value,
            "expression": self.expression,
            "span_start": self.span_start,
            "span_end": self.span_end,
        }


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _query_value(
    match: Match, query: Mapping[str, object], dihedral: bool, variants: dict[str, list[str]]
) -> str | None:
    """The caller's own hash that produced ``match``, or None when the query lacks one.

    ``query`` maps signal types to the caller's hashes (``Signals.as_dict()`` or JSON signals;
    other keys are ignored). With ``dihedral`` a PDQ match may have come from a rotated or
    flipped copy: the variant nearest the entry is the one the matcher searched, so that is
    returned (the original wins ties). Allowing that variant suppresses the same query again,
    and also the rotated copy sent without ``dihedral``.
    """
    own = query.get(match.signal_type)
    if not isinstance(own, str) or not own:
        return None
    try:
        kind = get_signal_type(match.signal_type)
        value = kind.normalize(own)
    except InvalidSignal:
        return None
    # Dihedral variants are searched for the PDQ-index type only (see Matcher.match).
    if kind.index is not IndexKind.PDQ_MIH or not dihedral or not match.value:
        return value
    found = variants.get(value)
    if found is None:
        from safespace.signals import dihedral_variants  # lazy: the image decoding stack

        found = variants[value] = dihedral_variants(value)
    try:
        candidates = list(dict.fromkeys([value, *found]))
        return min(candidates, key=lambda v: _bits(v, match.value))
    except ValueError:  # an entry value that is not hex: keep the original
        return value


# Seals a text match's excerpt: (ciphertext, master key id, wrapped data key), or None.
ExcerptSeal = Callable[[TextMatch], "tuple[bytes, str, bytes] | None"]


def record_matches(
    db: Database,
    content_id: str,
    matches: Iterable[Match | TextMatch],
    api_key_id: int | None,
    query: Mapping[str, object] | None = None,
    *,
    dihedral: bool = False,
    excerpt: ExcerptSeal | None = None,
) -> int:
    """Write one event per match in one transaction; returns how many were written.

    ``query`` (the caller's hashes by signal type) fills each event's ``query_value``; see
    :func:`_query_value` for what is stored when ``dihedral`` matching was used. A
    :class:`TextMatch` records its listed expression and span, never the text; ``excerpt``
    (only when the operator keeps excerpts) seals the bounded text around the span.
    """
    check_content_id(content_id)
    now = utcnow()
    variants: dict[str, list[str]] = {}  # one dihedral computation per call, not per match
    rows = []
    for found in matches:
        text: dict[str, Any] = {}
        if isinstance(found, TextMatch):
            m, sealed = found.match, excerpt(found) if excerpt is not None else None
            text = {"expression": m.value, "span_start": found.start, "span_end": found.end}
            if sealed is not None:
                names = ("excerpt", "excerpt_key_id", "excerpt_wrapped_key")
                text.update(zip(names, sealed, strict=True))
        else:
            m = found
        own = None
        if query is not None and not text:
            own = _query_value(m, query, dihedral, variants)
        rows.append(
            {
                **dict.fromkeys(_TEXT_COLUMNS),
                **text,
                "content_id": content_id,
                "bank": m.bank,
                "entry_id": m.entry_id,
                "signal_type": m.signal_type,
                "distance": m.distance,
                "query_value": own,
                "created_at": now,
                "api_key_id": api_key_id,
            }
        )
    if rows:
        with db.transaction() as s:
            s.execute(insert(MatchEvent), rows)
    return len(rows)


_TEXT_COLUMNS = (
    "expression",
    "span_start",
    "span_end",
    "excerpt",
    "excerpt_key_id",
    "excerpt_wrapped_key",
)


def list_events(
    db: Database, *, content_id: str | None = None, limit: int = 100
) -> list[MatchEventInfo]:
    """Most recent first; a seam for the review console."""
    query = select(MatchEvent).order_by(MatchEvent.id.desc()).limit(limit)
    if content_id is not None:
        query = query.where(MatchEvent.content_id == content_id)
    with db.session() as s:
        return [
            MatchEventInfo(
                e.id,
                e.content_id,
                e.bank,
                e.entry_id,
                e.signal_type,
                e.distance,
                e.created_at,
                e.api_key_id,
                e.query_value,
                e.expression,
                e.span_start,
                e.span_end,
            )
            for e in s.scalars(query)
        ]
