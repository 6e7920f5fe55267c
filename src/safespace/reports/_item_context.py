"""What the review item page shows around one item: its history, its neighbours, the matched
bank entry's provenance, and reviewers' notes.

* :func:`item_history` is one time-ordered list from what is already stored: the audit log
  (records whose subject is ``review:ID``: claims, reveals, decisions, reports, withdrawals,
  referral downloads), the webhook outbox (actions queued for ``review-ID`` and each delivery
  attempt) and the item's notes.
* :func:`item_neighbours` finds other items with the same content hash, the same account or
  the same self-report case: the first few of each, with how many there are in all.
* :func:`entry_provenance` says where the matched entry came from: its bank, source list or
  exchange (and the upstream id there), when it was added and by which import job, its
  note, and the hash's quality where the list gave one.
* :func:`add_note` and :func:`list_notes`: short notes reviewers leave on an item, audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from safespace.errors import InvalidInput, NotFound
from safespace.reports import _audit as audit
from safespace.store import Bank, BankEntry, Database, ImportJob
from safespace.store._models import utcnow
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource
from safespace.store._models_notes import MAX_NOTE, ReviewNote
from safespace.store._models_queue import ReviewItem
from safespace.store._models_reports import AuditRecord, WebhookAction, WebhookAttempt

__all__ = [
    "MAX_NOTE",
    "NEIGHBOUR_LIMIT",
    "EntryProvenance",
    "HistoryEvent",
    "Neighbour",
    "NeighbourGroup",
    "Neighbours",
    "NoteInfo",
    "UpstreamListing",
    "add_note",
    "entry_provenance",
    "item_history",
    "item_neighbours",
    "list_notes",
]

NEIGHBOUR_LIMIT = 10  # items listed per kind of neighbour; the count says how many in all
HISTORY_LIMIT = 500  # audit records read per item: a page, not an archive

# What an audit action reads as in the history: (kind, words).
_AUDIT_KINDS: dict[str, tuple[str, str]] = {
    "case.claim": ("claim", "claimed the item"),
    "case.release": ("claim", "released the item"),
    "case.reveal": ("reveal", "revealed the media"),
    "case.decision": ("decision", "decided"),
    "case.report": ("report", "reported"),
    "case.withdrawn": ("withdrawn", "the self-report was withdrawn"),
    "referral.export": ("referral", "downloaded a referral"),
}


def _subject(item_id: int) -> str:
    return f"review:{item_id}"


def _must_exist(s: Session, item_id: int) -> ReviewItem:
    row = s.get(ReviewItem, item_id)
    if row is None:
        raise NotFound(f"no review item {item_id}")
    return row


# --- notes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteInfo:
    id: int
    item_id: int
    author: str
    created_at: datetime
    text: str


def _clean_note(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("a note needs some text")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE} characters (this one is {len(text)})")
    if any(not (c.isprintable() or c in "\n\t") for c in text):
        raise InvalidInput("a note is plain text: no control characters")
    return text


def add_note(
    db: Database,
    item_id: int,
    author: str,
    text: str,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> NoteInfo:
    """Add a reviewer's note (1 to ``MAX_NOTE`` characters) to an item, audited."""
    text = _clean_note(text)
    if not author or len(author) > 64:
        raise InvalidInput("a note's author must be 1 to 64 characters")
    now = clock()
    with db.transaction() as s:
        _must_exist(s, item_id)
        row = ReviewNote(item_id=item_id, author=author, created_at=now, text=text)
        s.add(row)
        s.flush()
        details = {"note_id": row.id, "text": text}
        audit.append(s, audit.user_actor(author), "case.note", _subject(item_id), details, at=now)
        return NoteInfo(row.id, item_id, author, now, text)


def list_notes(db: Database, item_id: int) -> list[NoteInfo]:
    """The item's notes, oldest first."""
    with db.session() as s:
        rows = s.scalars(
            select(ReviewNote)
            .where(ReviewNote.item_id == item_id)
            .order_by(ReviewNote.created_at, ReviewNote.id)
        )
        return [NoteInfo(r.id, r.item_id, r.author, r.created_at, r.text) for r in rows]


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEvent:
    """One step in an item's life. ``kind``: claim, reveal, decision, report, withdrawn,
    referral, action (a webhook action queued), webhook (a delivery attempt), note."""

    at: datetime
    kind: str
    actor: str
    summary: str


def _actor_name(actor: str) -> str:
    return actor.removeprefix("user:")


def _decision_words(details: dict[str, Any]) -> str:
    words = f"decided {details.get('decision', '?')}"
    if details.get("category"):
        words += f" {details['category']}"
    if details.get("stage") == "with-item":
        words += f" (with item {details.get('with_item')})"
    elif details.get("stage") == "second-look":
        words += " (second look)"
    words += ", final" if details.get("final") else ", not final yet"
    if details.get("reason"):
        words += f": {details['reason']}"
    return words


def _audit_event(r: AuditRecord) -> HistoryEvent | None:
    known = _AUDIT_KINDS.get(r.action)
    if known is None:  # notes come from their own table; other actions are not this item's
        return None
    kind, words = known
    try:
        details = json.loads(r.details) if r.details else {}
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    if r.action == "case.decision":
        words = _decision_words(details)
    elif r.action == "case.reveal" and details.get("over_cap"):
        words += " (past the daily limit, confirmed)"
    elif r.action == "case.report":
        words = f"raised from {details.get('source') or 'a report'}"
    elif r.action == "referral.export":
        words += f" ({details.get('format', '?')})"
    return HistoryEvent(r.at, kind, _actor_name(r.actor), words)


def item_history(db: Database, item_id: int) -> list[HistoryEvent]:
    """Everything that happened to the item, oldest first (ties keep a stable order:
    audit records, then actions and deliveries, then notes)."""
    events: list[tuple[datetime, int, int, HistoryEvent]] = []
    with db.session() as s:
        row = _must_exist(s, item_id)
        events.append(
            (row.created_at, 0, 0, HistoryEvent(row.created_at, "queued", "system", "queued"))
        )
        records = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.subject == _subject(item_id))
            .order_by(AuditRecord.seq)
            .limit(HISTORY_LIMIT)
        )
        for r in records:
            event = _audit_event(r)
            if event is not None:
                events.append((r.at, 1, r.seq, event))
        actions = s.scalars(
            select(WebhookAction)
            .where(WebhookAction.case_id == f"review-{item_id}")
            .order_by(WebhookAction.id)
        ).all()
        for a in actions:
            words = f"webhook action #{a.id} {a.kind} queued"
            events.append((a.created_at, 2, a.id, HistoryEvent(a.created_at, "action", "", words)))
        attempts = s.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.action_id.in_([a.id for a in actions]))
            .order_by(WebhookAttempt.id)
        ).all()
        for t in attempts:
            outcome = f"HTTP {t.status_code}" if t.status_code is not None else (t.error or "?")
            ok = t.status_code is not None and 200 <= t.status_code < 300
            words = f"webhook action #{t.action_id} {'delivered' if ok else 'failed'}: {outcome}"
            events.append((t.at, 3, t.id, HistoryEvent(t.at, "webhook", "", words)))
    for n in list_notes(db, item_id):
        events.append((n.created_at, 4, n.id, HistoryEvent(n.created_at, "note", n.author, n.text)))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    return [e[3] for e in events]


# --- neighbours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    id: int
    status: str
    source: str
    content_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class NeighbourGroup:
    """Up to ``NEIGHBOUR_LIMIT`` items (newest first) and how many there are in all."""

    items: tuple[Neighbour, ...]
    total: int


@dataclass(frozen=True)
class Neighbours:
    same_hash: NeighbourGroup
    same_account: NeighbourGroup
    same_case: NeighbourGroup

    @property
    def any(self) -> bool:
        return bool(self.same_hash.total or self.same_account.total or self.same_case.total)


_EMPTY = NeighbourGroup((), 0)


def _hash_values(row: ReviewItem) -> list[str]:
    """The content's hashes: those it came with, and the matched value on an exact match.
    Only plain hash text (letters and digits) is searched for."""
    values = {str(v) for v in (row.hashes or {}).values() if v}
    if row.matched_value and row.distance == 0:
        values.add(row.matched_value)
    return sorted(v for v in values if v.isascii() and v.isalnum() and len(v) >= 8)


def _group(s: Session, item_id: int, where: Any, limit: int) -> NeighbourGroup:
    cond = and_(ReviewItem.id != item_id, where)
    total = int(s.scalar(select(func.count()).select_from(ReviewItem).where(cond)) or 0)
    if not total:
        return _EMPTY
    rows = s.execute(
        select(
            ReviewItem.id,
            ReviewItem.status,
            ReviewItem.source,
            ReviewItem.content_id,
            ReviewItem.created_at,
        )
        .where(cond)
        .order_by(ReviewItem.created_at.desc(), ReviewItem.id.desc())
        .limit(limit)
    ).all()
    return NeighbourGroup(tuple(Neighbour(*r) for r in rows), total)


def item_neighbours(db: Database, item_id: int, *, limit: int = NEIGHBOUR_LIMIT) -> Neighbours:
    """Other items with the same content hash (its own hashes, or the same exact match, or
    the same content id), the same account, or the same self-report case."""
    with db.session() as s:
        row = _must_exist(s, item_id)
        hash_terms: list[Any] = []
        values = _hash_values(row)
        if values:
            hash_terms.append(ReviewItem.matched_value.in_(values) & (ReviewItem.distance == 0))
            text = cast(ReviewItem.hashes, String)
            hash_terms += [text.contains(f'"{v}"') for v in values]
        if row.content_id:
            hash_terms.append(ReviewItem.content_id == row.content_id)
        same_hash = _group(s, item_id, or_(*hash_terms), limit) if hash_terms else _EMPTY
        same_account = (
            _group(s, item_id, ReviewItem.account_id == row.account_id, limit)
            if row.account_id
            else _EMPTY
        )
        same_case = (
            _group(s, item_id, ReviewItem.self_report_case_id == row.self_report_case_id, limit)
            if row.self_report_case_id is not None
            else _EMPTY
        )
        return Neighbours(same_hash, same_account, same_case)


# --- the matched entry's provenance ------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamListing:
    """The entry as a bank source (an exchange) lists it."""

    source: str
    source_type: str
    upstream_id: str


@dataclass(frozen=True)
class EntryProvenance:
    """Where the matched entry came from. ``import_job`` is the job that was running for the
    entry's bank when the entry was written (None when it came another way: the API, the
    command line, an exchange, a reviewer's false positive)."""

    entry_id: int
    bank: str
    bank_kind: str
    signal_type: str
    value: str
    enabled: bool
    source: str | None
    category: str | None
    note: str | None
    added_at: datetime | None
    created_at: datetime
    import_job: int | None
    import_file: str | None
    upstream: tuple[UpstreamListing, ...]
    quality: str | None
    extra: tuple[tuple[str, str], ...]


def _quality(extra: dict[str, Any]) -> str | None:
    for key in ("quality", "pdq_quality", "hash_quality"):
        if extra.get(key) not in (None, ""):
            return str(extra[key])
    return None


def _plain_extra(extra: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    shown = []
    for k, v in sorted(extra.items()):
        if isinstance(v, str | int | float) and len(str(v)) <= 256:
            shown.append((str(k), str(v)))
    return tuple(shown[:20])


def entry_provenance(db: Database, entry_id: int | None) -> EntryProvenance | None:
    """The entry's provenance; None when the item matched no entry or it is gone."""
    if entry_id is None:
        return None
    with db.session() as s:
        found = s.execute(
            select(BankEntry, Bank.name, Bank.kind)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(BankEntry.id == entry_id)
        ).first()
        if found is None:
            return None
        entry, bank, bank_kind = found
        job = s.execute(
            select(ImportJob.id, ImportJob.filename)
            .where(
                ImportJob.bank == bank,
                ImportJob.started_at.is_not(None),
                ImportJob.started_at <= entry.created_at,
                or_(ImportJob.finished_at.is_(None), ImportJob.finished_at >= entry.created_at),
            )
            .order_by(ImportJob.id.desc())
            .limit(1)
        ).first()
        listings = s.execute(
            select(ExchangeSource.name, ExchangeSource.type, ExchangeEntry.upstream_id)
            .join(ExchangeSource, ExchangeSource.id == ExchangeEntry.source_id)
            .where(ExchangeEntry.entry_id == entry_id)
            .order_by(ExchangeSource.name, ExchangeEntry.upstream_id)
            .limit(20)
        ).all()
        extra = dict(entry.extra or {})
        return EntryProvenance(
            entry_id=entry.id,
            bank=bank,
            bank_kind=bank_kind,
            signal_type=entry.signal_type,
            value=entry.value,
            enabled=entry.enabled,
            source=entry.source,
            category=entry.category,
            note=entry.note,
            added_at=entry.added_at,
            created_at=entry.created_at,
            import_job=None if job is None else job[0],
            import_file=None if job is None else job[1],
            upstream=tuple(UpstreamListing(n, t, u) for n, t, u in listings),
            quality=_quality(extra),
            extra=_plain_extra(extra),
        )
