"""Bounded, sealed excerpts of a post's text around a text match, only if the operator allows.

A text match (a listed URL, a URL's SHA-256, a keyword) is recorded with the listed expression
and the span offsets only: the submitted text is not kept. ``SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS``
above 0 lets a reviewer see the matched span and that many characters either side. That
excerpt is sealed like reviewer media (:mod:`safespace.reports._sealing`): a random 256-bit data
key per excerpt, AES-256-GCM bound to the content id and the span (an excerpt copied onto
another event does not open), the data key wrapped under ``SAFESPACE_EVIDENCE_KEY``. Without a
usable key no excerpt is kept at all: plaintext is never offered.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from safespace.config import Settings
from safespace.errors import ConfigError, IntegrityFailure, InvalidInput
from safespace.reports._evidence import key_id, load_master_key, rewrap_key, seal, unseal
from safespace.store import Database, MatchEvent

__all__ = [
    "Excerpt",
    "ExcerptSealer",
    "SealedExcerpt",
    "item_excerpts",
    "rewrap_excerpts",
]

log = logging.getLogger(__name__)


def _aad(kind: bytes, content_id: str, start: int, end: int) -> bytes:
    return b"safespace-text-excerpt-%s-v1\n%s\n%d:%d" % (kind, content_id.encode(), start, end)


@dataclass(frozen=True)
class SealedExcerpt:
    """What a ``match_events`` row stores: ciphertext, the master key's id, the wrapped key."""

    data: bytes
    key_id: str
    wrapped_key: bytes


@dataclass(frozen=True)
class Excerpt:
    """The text around a match: ``before`` + ``matched`` + ``after`` is what was kept."""

    before: str
    matched: str
    after: str


class ExcerptSealer:
    """Cuts, seals and opens excerpts of ``context`` characters either side of a span."""

    def __init__(self, master_key: bytes, context: int) -> None:
        if len(master_key) != 32:
            raise ConfigError("the evidence master key must be 32 bytes")
        if context < 0:
            raise InvalidInput("the excerpt context must be 0 or more characters")
        self._key = master_key
        self.key_id = key_id(master_key)
        self.context = context

    @classmethod
    def from_settings(cls, settings: Settings) -> ExcerptSealer | None:
        """None when no text is kept (the default, or no usable evidence key: logged)."""
        if settings.review_text_context_chars <= 0:
            return None
        try:
            return cls(load_master_key(settings.evidence_key), settings.review_text_context_chars)
        except ConfigError as exc:
            log.warning(
                "SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS is set but no excerpt is kept: %s", exc
            )
            return None

    def seal(self, content_id: str, text: str, start: int, end: int) -> SealedExcerpt:
        """The span ``text[start:end]`` with ``context`` characters either side, sealed."""
        if not 0 <= start <= end <= len(text):
            raise InvalidInput("a span must lie within the text")
        lo, hi = max(0, start - self.context), min(len(text), end + self.context)
        plain = json.dumps([text[lo:start], text[start:end], text[end:hi]]).encode()
        data_key = AESGCM.generate_key(bit_length=256)
        return SealedExcerpt(
            seal(data_key, plain, _aad(b"data", content_id, start, end)),
            self.key_id,
            seal(self._key, data_key, _aad(b"key", content_id, start, end)),
        )

    def open(self, content_id: str, start: int, end: int, sealed: SealedExcerpt) -> Excerpt:
        if sealed.key_id != self.key_id:
            raise ConfigError(
                f"a text excerpt of {content_id!r} is wrapped by master key {sealed.key_id}, "
                f"this server has {self.key_id}: finish the key rotation"
            )
        try:
            data_key = unseal(self._key, sealed.wrapped_key, _aad(b"key", content_id, start, end))
            plain = unseal(data_key, sealed.data, _aad(b"data", content_id, start, end))
        except InvalidTag:
            raise IntegrityFailure(
                f"a text excerpt of {content_id!r} cannot be opened: it was altered or moved"
            ) from None
        before, matched, after = json.loads(plain)
        return Excerpt(str(before), str(matched), str(after))


def rewrap_excerpts(db: Database, old_key: bytes, new_key: bytes) -> int:
    """Re-wrap every excerpt's data key held under ``old_key``, all or nothing."""
    if old_key == new_key:
        raise InvalidInput("the old and the new evidence key are the same")
    old_id, new_id = key_id(old_key), key_id(new_key)
    with db.transaction() as s:
        rows = s.scalars(
            select(MatchEvent).where(
                MatchEvent.excerpt_key_id == old_id, MatchEvent.excerpt_wrapped_key.is_not(None)
            )
        ).all()
        for row in rows:
            assert row.excerpt_wrapped_key is not None
            start, end = int(row.span_start or 0), int(row.span_end or 0)
            row.excerpt_wrapped_key = rewrap_key(
                row.excerpt_wrapped_key, old_key, new_key,
                _aad(b"key", row.content_id, start, end), f"text excerpt of event {row.id}",
            )  # fmt: skip
            row.excerpt_key_id = new_id
        return len(rows)


def item_excerpts(
    db: Database, settings: Settings, spans: Sequence[Mapping[str, Any]]
) -> dict[int, Excerpt]:
    """The excerpts a review item's text spans may show, by event id: none at all unless
    ``SAFESPACE_REVIEW_TEXT_CONTEXT_CHARS`` is above 0 now, and each cut to that bound."""
    sealer = ExcerptSealer.from_settings(settings)
    ids = [int(span["event_id"]) for span in spans if span.get("excerpt")]
    if sealer is None or not ids:
        return {}
    out: dict[int, Excerpt] = {}
    with db.session() as s:
        rows = s.scalars(select(MatchEvent).where(MatchEvent.id.in_(ids))).all()
        for row in rows:
            if row.excerpt is None or row.excerpt_wrapped_key is None:
                continue
            sealed = SealedExcerpt(row.excerpt, row.excerpt_key_id or "", row.excerpt_wrapped_key)
            start, end = int(row.span_start or 0), int(row.span_end or 0)
            try:
                found = sealer.open(row.content_id, start, end, sealed)
            except (ConfigError, IntegrityFailure) as exc:
                log.warning("text excerpt of event %s not shown: %s", row.id, exc)
                continue
            n = sealer.context  # the bound now, if it was lowered since
            out[row.id] = Excerpt(found.before[-n:] if n else "", found.matched, found.after[:n])
    return out
