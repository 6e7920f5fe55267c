"""Feeding the review queue: match events, self-reports and platforms' user reports become items.

One open item per content id: a later match of the same content joins it (raising its
priority if more severe), a second user report adds its reason. Feeds are read by cursor, in
batches, so each event or case becomes an item exactly once. :class:`QueueFeeds` does this
for the :class:`~safespace.reports._queue.ReviewQueue` that holds it; what it needs of the
queue (its clock, its webhook endpoint, its sealer and policy, how it loads an item) the
queue passes in, read at the time of each call. The dependency points one way: the queue
imports this module, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from safespace.banks._match_results import Match
from safespace.errors import InvalidInput
from safespace.reports import _audit as audit
from safespace.reports._sealing import MediaSealer, seal_media
from safespace.reports._selfreport import CASE_EXTRA_KEY
from safespace.reports._selfreport_input import ITEM_TYPES
from safespace.signals import SHA256
from safespace.store import BankEntry, Database, MatchEvent, SelfReportCase, SelfReportItem
from safespace.store._models_queue import (
    OPEN_ITEM_STATUSES,
    ReviewCursor,
    ReviewItem,
    ReviewMedia,
)

__all__ = [
    "MAX_REASON",
    "OPEN_STATUSES",
    "QueueFeeds",
    "UserReport",
    "made_for_case",
    "priority_for",
]

OPEN_STATUSES = OPEN_ITEM_STATUSES
MAX_REASON = 2000
MAX_SPANS = 50  # text-match spans kept on one item (the latest)
_BATCH = 500
_Fed = TypeVar("_Fed", MatchEvent, SelfReportCase)
_Item = TypeVar("_Item")


@dataclass(frozen=True)
class UserReport:
    """A report a platform's user made; ``hashes`` of the media when one was sent.

    ``source`` is ``conversation`` when the platform's conversation-risk scoring raised it
    (the reason then names the rules and word spans that fired, never message text)."""

    content_id: str
    reason: str
    account_id: str | None = None
    urls: tuple[str, ...] = ()
    hashes: Mapping[str, str] = field(default_factory=dict)
    matches: Sequence[Match] = ()
    media: bytes | None = None
    media_type: str | None = None
    source: str = "user-report"


_REPORT_SOURCES = ("user-report", "conversation")


def priority_for(source: str, category: str | None) -> int:
    """0 is most urgent: A/A1, then self-reports, then A2/B/B1/B2, then C, then unknown."""
    cat = (category or "").strip().upper()
    if cat in ("A", "A1"):
        return 0
    if source in ("self-report", "conversation") or cat == "SELF-REPORT":
        return 1  # a young person asked for help, or may be being groomed right now
    if cat in ("A2", "B", "B1", "B2"):
        return 2
    if cat == "C":
        return 3
    return 4


def made_for_case(entry: BankEntry) -> int | None:
    """The self-report case a bank entry was added for (its ``extra``), if any."""
    case = (entry.extra or {}).get(CASE_EXTRA_KEY)
    try:
        return int(case) if case is not None else None
    except (TypeError, ValueError):
        return None


def _most_severe(matches: Sequence[Match], source: str) -> Match | None:
    def rank(m: Match) -> tuple[int, int]:
        return priority_for(source, str(m.metadata.get("category") or "")), m.distance

    return min(matches, key=rank) if matches else None


class QueueFeeds:
    """Turns feeds into review items, in the queue's database; ``clock`` is called at each use."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def sync(self, endpoint: Callable[[Session], object] | None = None) -> int:
        """Turn new match events and self-reports into items; returns how many were made.

        ``endpoint`` (the queue's webhook endpoint, brought up to date) runs in the first
        transaction: the delivery loop syncs before it delivers, even after a restart."""
        return self._sync_events(endpoint) + self._sync_self_reports()

    def _cursor(self, s: Session, name: str) -> ReviewCursor:
        row = s.get(ReviewCursor, name)
        if row is None:
            row = ReviewCursor(name=name, position=0)
            s.add(row)
        return row

    def _next_batch(
        self, s: Session, feed: str, model: type[_Fed]
    ) -> tuple[ReviewCursor, Sequence[_Fed]]:
        """The feed's cursor and the next rows after it, in id order."""
        cursor = self._cursor(s, feed)
        query = select(model).where(model.id > cursor.position).order_by(model.id).limit(_BATCH)
        return cursor, s.scalars(query).all()

    def _sync_events(self, endpoint: Callable[[Session], object] | None) -> int:
        made, first = 0, True
        while True:
            with self.db.transaction() as s:
                if first:  # the delivery loop syncs before it delivers, even after a restart
                    if endpoint is not None:
                        endpoint(s)
                    first = False
                cursor, events = self._next_batch(s, "match_events", MatchEvent)
                if not events:
                    return made
                for e in events:
                    entry = s.get(BankEntry, e.entry_id)
                    category = entry.category if entry is not None else None
                    value = entry.value if entry is not None else None
                    match = Match(
                        e.bank, "normal", e.entry_id, e.signal_type, value or "", e.distance,
                        {"category": category},
                    )  # fmt: skip
                    # The caller's own hash: what a false positive on a near match allows.
                    own = {e.signal_type: e.query_value} if e.query_value else None
                    made += self._add(s, "match", e.content_id, [match], e.created_at, own)
                    if e.span_start is not None:  # a text match: where, never the text
                        self._add_span(s, e)
                    case_id = made_for_case(entry) if entry is not None else None
                    if case_id is not None:
                        # A re-upload of self-reported content: its decision is the case's.
                        item = self._open_for(s, e.content_id)
                        if item is not None and item.self_report_case_id is None:
                            item.self_report_case_id = case_id
                cursor.position = events[-1].id

    def _sync_self_reports(self) -> int:
        made = 0
        with self.db.transaction() as s:
            cursor, cases = self._next_batch(s, "self_reports", SelfReportCase)
            for case in cases:
                cursor.position = case.id
                if case.status == "withdrawn":
                    continue
                first = s.scalars(
                    select(SelfReportItem).where(SelfReportItem.case_id == case.id).limit(1)
                ).first()
                hashes = {}
                if first is not None:
                    hashes = {k.name: v for k in ITEM_TYPES if (v := getattr(first, k.name))}
                s.add(self._row("self-report", None, hashes, case.created_at, case_id=case.id))
                made += 1
        return made

    def _row(
        self,
        source: str,
        content_id: str | None,
        hashes: Mapping[str, str],
        at: datetime,
        *,
        match: Match | None = None,
        case_id: int | None = None,
    ) -> ReviewItem:
        category = str(match.metadata.get("category") or "") or None if match else None
        return ReviewItem(
            source=source, status="open", priority=priority_for(source, category),
            content_id=content_id, urls=[], reports=0, hashes=dict(hashes),
            bank=match.bank if match else None, entry_id=match.entry_id if match else None,
            signal_type=match.signal_type if match else None,
            matched_value=(match.value or None) if match else None,
            distance=match.distance if match else None, category=category,
            self_report_case_id=case_id, created_at=at, updated_at=at,
        )  # fmt: skip

    def _add_span(self, s: Session, e: MatchEvent) -> None:
        """Carry a text match's expression and span onto the content's open item."""
        item = self._open_for(s, e.content_id)
        if item is None:
            return
        span = {
            "event_id": e.id, "signal_type": e.signal_type, "expression": e.expression,
            "start": e.span_start, "end": e.span_end, "excerpt": e.excerpt is not None,
        }  # fmt: skip
        item.text_spans = [*(item.text_spans or []), span][-MAX_SPANS:]

    @staticmethod
    def _open_for(s: Session, content_id: str) -> ReviewItem | None:
        return s.scalars(
            select(ReviewItem)
            .where(ReviewItem.content_id == content_id, ReviewItem.status.in_(OPEN_STATUSES))
            .order_by(ReviewItem.id)
            .limit(1)
        ).first()

    def _add(
        self,
        s: Session,
        source: str,
        content_id: str,
        matches: Sequence[Match],
        at: datetime,
        hashes: Mapping[str, str] | None = None,
    ) -> int:
        """One open item per content id: a more severe match raises the existing one."""
        best = _most_severe(matches, source)
        existing = self._open_for(s, content_id)
        if existing is None:
            s.add(self._row(source, content_id, hashes or {}, at, match=best))
            s.flush()
            return 1
        if best is not None:
            new = self._row(source, content_id, {}, at, match=best)
            if new.priority < existing.priority or existing.bank is None:
                for name in ("priority", "bank", "entry_id", "signal_type", "matched_value"):
                    setattr(existing, name, getattr(new, name))
                existing.distance, existing.category = new.distance, new.category
        if hashes:
            existing.hashes = {**(existing.hashes or {}), **hashes}
        existing.updated_at = self.clock()
        return 0

    def retro(
        self, s: Session, found: Mapping[str, tuple[Sequence[Match], Mapping[str, str], str]]
    ) -> dict[str, int]:
        """Retro-matches: stored content (by content id) whose hashes newly banked entries
        list, with those matches, the content's hashes and a reason (when it was seen). Each
        content joins its open item as a live match would, or gets one new ``retro`` item
        (its most severe match); the reason is the new item's, or is added to the open one's.
        Returns each content's item id. New items are written in one batch."""
        ids = list(found)
        open_items: dict[str, ReviewItem] = {}
        for k in range(0, len(ids), _BATCH):
            rows = s.scalars(
                select(ReviewItem)
                .where(
                    ReviewItem.content_id.in_(ids[k : k + _BATCH]),
                    ReviewItem.status.in_(OPEN_STATUSES),
                )
                .order_by(ReviewItem.id)
            )
            for row in rows:
                open_items.setdefault(str(row.content_id), row)
        now = self.clock()
        new: dict[str, ReviewItem] = {}
        for content_id, (matches, hashes, reason) in found.items():
            existing = open_items.get(content_id)
            if existing is None:
                row = self._row(
                    "retro", content_id, hashes, now, match=_most_severe(matches, "retro")
                )
                row.reason = reason[-MAX_REASON:]
                new[content_id] = row
                continue
            self._add(s, "retro", content_id, matches, now, hashes)
            existing.reason = f"{existing.reason or ''}\n---\n{reason}".lstrip("\n-")[-MAX_REASON:]
        s.add_all(new.values())
        s.flush()
        return {c: int(item.id) for c, item in [*open_items.items(), *new.items()] if c in found}

    def report(
        self,
        report: UserReport,
        *,
        load: Callable[[Session, int], _Item],
        sealer: MediaSealer | None,
        store_media: bool,
    ) -> tuple[_Item, bool]:
        """A platform's user report; returns the item (as ``load`` reads it, in the same
        transaction) and whether it is new. Its media is kept, sealed, only with
        ``store_media`` and a ``sealer`` (never in plaintext)."""
        reason = report.reason.strip()
        if not 1 <= len(reason) <= MAX_REASON:
            raise InvalidInput(f"reason must be 1..{MAX_REASON} characters")
        if report.source not in _REPORT_SOURCES:
            raise InvalidInput(f"a report's source is one of {', '.join(_REPORT_SOURCES)}")
        now = self.clock()
        with self.db.transaction() as s:
            made = self._add(
                s, report.source, report.content_id, report.matches, now, report.hashes
            )
            item = self._open_for(s, report.content_id)
            assert item is not None
            item.reports += 1
            item.reason = reason if made else f"{item.reason or ''}\n---\n{reason}"[-MAX_REASON:]
            item.account_id = report.account_id or item.account_id
            item.urls = list(dict.fromkeys([*(item.urls or []), *report.urls]))[:20]
            if made and report.media is not None and store_media:
                sealed = seal_media(sealer, item.id, report.media)
                if sealed is not None:
                    s.add(
                        ReviewMedia(
                            item_id=item.id,
                            media_type=report.media_type or "application/octet-stream",
                            sha256=report.hashes.get(SHA256.name, ""),  # the media's digest
                            data=sealed.data,
                            key_id=sealed.key_id,
                            wrapped_key=sealed.wrapped_key,
                            created_at=now,
                        )
                    )
            s.flush()
            details = {"new": bool(made), "source": report.source}
            audit.append(s, "api", "case.report", f"review:{item.id}", details, at=now)
            return load(s, item.id), bool(made)
