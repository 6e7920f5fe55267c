"""Suspicious-adult signals: events the platform sends, kept keyed-hashed, turned into flags.

Every event names who did something (``actor``) and to whom (``target``):

- ``block``, ``report``: a child blocked or reported an adult (actor child, target adult);
- ``request_sent``, ``message_to_non_connection``: an adult sent a child a request or a
  message though they are not connected (actor adult, target child);
- ``request_accepted``, ``request_ignored``: a child accepted or ignored an adult's request
  (actor child, target adult).

Only events between an adult and a child are kept, as one row: the adult's and the child's
keyed hashes (HMAC-SHA256 with the server's contact key; the platform's ids are never
stored), the kind and the time. Nothing else about the people is kept. Rows are deleted
after the policy's retention period by :meth:`ContactSignals.purge`, which the service's
background tick calls.

An adult is flagged when, within the policy's window and since a lead last cleared them,
``blocked_or_reported_by_children`` distinct children blocked or reported them, or
``ignored_requests_to_children`` of their requests to children were ignored and made up at
least ``ignored_share`` of those answered. The flagged set is held in memory, so a decision
costs one set lookup: it is recomputed for an adult as each event arrives (in this
process) and for everyone by :meth:`ContactSignals.refresh` on the background tick (which
is how other worker processes see flags).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, case, delete, func, or_, select
from sqlalchemy.orm import Session

from safespace.contact._engine import Engine
from safespace.contact._policy import SignalRules
from safespace.contact._types import Account
from safespace.errors import InvalidInput, NotFound
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_contact import (
    CONTACT_EVENT_TYPES,
    ContactEventRow,
    ContactFlagClearance,
)

__all__ = ["EVENT_TYPES", "ContactSignals", "FlagInfo", "SignalEvent", "keyed_id"]

EVENT_TYPES = CONTACT_EVENT_TYPES
# Which side of each event is the adult the signal is about.
_ADULT_IS_ACTOR = frozenset({"request_sent", "message_to_non_connection"})
_BLOCKS = ("block", "report")
_ANSWERS = ("request_ignored", "request_accepted")
_BATCH = 500
# Rows committed out of id or time order (concurrent writers) are still seen: each
# incremental recount looks this far back again.
_ID_OVERLAP = 1000
_CLEAR_OVERLAP = dt.timedelta(minutes=5)
_DOMAIN = b"safespace-contact-account/v1\x00"


def keyed_id(key: bytes, account_id: str) -> str:
    """The keyed hash kept in place of a platform's account id (64 hex characters)."""
    return hmac.new(key, _DOMAIN + account_id.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SignalEvent:
    kind: str
    other: str  # the child's keyed id
    at: dt.datetime


@dataclass(frozen=True)
class FlagInfo:
    """An adult (keyed id) flagged now, why, and the events behind it."""

    subject: str
    reasons: tuple[str, ...]
    blocked_or_reported_by: int  # distinct children, within the window
    ignored: int
    accepted: int
    events: tuple[SignalEvent, ...]


class ContactSignals:
    """Signal events in one database and this process's view of who is flagged."""

    def __init__(self, db: Database, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the contact key must be at least 16 bytes")
        self.db = db
        self._key = key
        self._flagged: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._seen_id = 0  # the newest event counted by a refresh
        self._seen_clear = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def key_for(self, account_id: str) -> str:
        return keyed_id(self._key, account_id)

    def is_flagged(self, subject: str) -> bool:
        return subject in self._flagged

    @property
    def flagged_count(self) -> int:
        return len(self._flagged)

    # --- events ----------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        actor: Account,
        target: Account,
        engine: Engine,
        *,
        country: str | None = None,
        at: dt.datetime | None = None,
    ) -> bool:
        """Keep the event when it is between an adult and a child; True when it was kept."""
        if kind not in EVENT_TYPES:
            raise InvalidInput(f"unknown event type {kind!r} (use {', '.join(EVENT_TYPES)})")
        adult, child = (actor, target) if kind in _ADULT_IS_ACTOR else (target, actor)
        # Safely: an unknown age counts as a child on the child's side, as an adult on the other.
        if not engine.is_child_target(child.age_band, child.age_assured, country):
            return False
        if engine.is_child_actor(adult.age_band, adult.age_assured, country):
            return False
        subject, other = self.key_for(adult.id), self.key_for(child.id)
        now = at or utcnow()
        with self.db.transaction() as s:
            s.add(ContactEventRow(kind=kind, subject=subject, other=other, created_at=now))
        self._update(subject, engine.policy.signals, now)
        return True

    def purge(self, retention_days: int, *, now: dt.datetime | None = None) -> int:
        """Delete events older than the retention period (and clearances as old); how many."""
        if retention_days < 1:
            raise InvalidInput("the retention period must be at least one day")
        cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
        with self.db.transaction() as s:
            result = s.execute(delete(ContactEventRow).where(ContactEventRow.created_at < cutoff))
            s.execute(delete(ContactFlagClearance).where(ContactFlagClearance.cleared_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    # --- flags -----------------------------------------------------------------------------

    def refresh(self, rules: SignalRules, *, now: dt.datetime | None = None) -> frozenset[str]:
        """Recompute everyone's flag from the stored events; the new flagged set.

        One pass per rule over the window keeps only the adults over a threshold (HAVING);
        the few adults a lead has cleared are then counted again, since their clearing time.
        """
        now = now or utcnow()
        with self.db.session() as s:
            seen = int(s.scalar(select(func.coalesce(func.max(ContactEventRow.id), 0))) or 0)
            found = self._flagged_now(s, rules, now)
        with self._lock:
            self._flagged = frozenset(found)
            self._seen_id = max(self._seen_id, seen)
            self._seen_clear = now
        return self._flagged

    def _flagged_now(self, s: Session, rules: SignalRules, now: dt.datetime) -> set[str]:
        since = now - dt.timedelta(days=rules.window_days)
        ev = ContactEventRow
        window = (ev.created_at >= since, ev.created_at <= now)
        ignored = func.sum(case((ev.kind == "request_ignored", 1), else_=0))
        accepted = func.sum(case((ev.kind == "request_accepted", 1), else_=0))
        found = set(
            s.scalars(
                select(ev.subject)
                .where(ev.kind.in_(_BLOCKS), *window)
                .group_by(ev.subject)
                .having(func.count(ev.other.distinct()) >= rules.blocked_or_reported_by_children)
            )
        )
        for subj, n_ignored, n_accepted in s.execute(
            select(ev.subject, ignored, accepted)
            .where(ev.kind.in_(_ANSWERS), *window)
            .group_by(ev.subject)
            .having(ignored >= rules.ignored_requests_to_children)
        ):
            if self._reasons((0, int(n_ignored), int(n_accepted)), rules):
                found.add(subj)
        cleared = list(s.scalars(select(ContactFlagClearance.subject)))
        found -= set(cleared)
        found |= set(self._query_flagged(s, rules, now, cleared))
        return found

    def refresh_changes(self, rules: SignalRules, *, now: dt.datetime | None = None) -> int:
        """Recount only the adults with events (from any process) or clearings since the
        last refresh; how many were recounted. Flags that lapse as events age out of the
        window go at the next full :meth:`refresh`."""
        now = now or utcnow()
        ev, cl = ContactEventRow, ContactFlagClearance
        with self.db.session() as s:
            seen = int(s.scalar(select(func.coalesce(func.max(ev.id), 0))) or 0)
            changed = set(
                s.scalars(
                    select(ev.subject)
                    .where(ev.id > self._seen_id - _ID_OVERLAP, ev.id <= seen)
                    .distinct()
                )
            )
            since = self._seen_clear - _CLEAR_OVERLAP
            changed |= set(s.scalars(select(cl.subject).where(cl.cleared_at >= since)))
            subjects = sorted(changed)
            hits = set(self._query_flagged(s, rules, now, subjects)) if subjects else set()
        with self._lock:
            self._flagged = (self._flagged - changed) | hits
            self._seen_id = max(self._seen_id, seen)
            self._seen_clear = now
        return len(subjects)

    def _update(self, subject: str, rules: SignalRules, now: dt.datetime) -> None:
        with self.db.session() as s:
            hit = bool(self._query_flagged(s, rules, now, [subject]))
        with self._lock:
            if hit:
                self._flagged = self._flagged | {subject}
            elif subject in self._flagged:
                self._flagged = self._flagged - {subject}

    def _counts(
        self, s: Session, rules: SignalRules, now: dt.datetime, subjects: Sequence[str] | None
    ) -> dict[str, tuple[int, int, int]]:
        """Per adult in the window, since any clearance: (children who blocked/reported,
        ignored requests, accepted requests); everyone, or ``subjects`` only."""
        if subjects is not None and len(subjects) > _BATCH:
            out: dict[str, tuple[int, int, int]] = {}
            for i in range(0, len(subjects), _BATCH):
                out.update(self._counts(s, rules, now, subjects[i : i + _BATCH]))
            return out
        since = now - dt.timedelta(days=rules.window_days)
        ev, cl = ContactEventRow, ContactFlagClearance
        base = (
            select(ev.subject)
            .outerjoin(cl, cl.subject == ev.subject)
            .where(ev.created_at >= since, ev.created_at <= now)
            .where(or_(cl.cleared_at.is_(None), ev.created_at > cl.cleared_at))
        )
        if subjects is not None:
            base = base.where(ev.subject.in_(subjects))
        blocks = base.add_columns(func.count(ev.other.distinct())).where(ev.kind.in_(_BLOCKS))
        answers = base.add_columns(ev.kind, func.count()).where(ev.kind.in_(_ANSWERS))
        table: dict[str, list[int]] = {}
        for subj, n in s.execute(blocks.group_by(ev.subject)):
            table.setdefault(subj, [0, 0, 0])[0] = int(n)
        for subj, kind, n in s.execute(answers.group_by(ev.subject, ev.kind)):
            table.setdefault(subj, [0, 0, 0])[1 if kind == "request_ignored" else 2] = int(n)
        return {k: (v[0], v[1], v[2]) for k, v in table.items()}

    @staticmethod
    def _reasons(counts: tuple[int, int, int], rules: SignalRules) -> tuple[str, ...]:
        blocked, ignored, accepted = counts
        reasons = []
        if blocked >= rules.blocked_or_reported_by_children:
            reasons.append("blocked_or_reported_by_children")
        answered = ignored + accepted
        if (
            ignored >= rules.ignored_requests_to_children
            and answered
            and ignored / answered >= rules.ignored_share
        ):
            reasons.append("ignored_requests_to_children")
        return tuple(reasons)

    def _query_flagged(
        self, s: Session, rules: SignalRules, now: dt.datetime, subjects: Sequence[str]
    ) -> list[str]:
        return [
            k for k, c in self._counts(s, rules, now, subjects).items() if self._reasons(c, rules)
        ]

    def flags(self, rules: SignalRules, *, now: dt.datetime | None = None) -> list[FlagInfo]:
        """Everyone flagged now, with the events behind each flag (for a lead's review)."""
        now = now or utcnow()
        with self.db.session() as s:
            flagged = sorted(self._flagged_now(s, rules, now))
            counts = self._counts(s, rules, now, flagged)
            return [self._info(s, k, counts[k], rules, now) for k in flagged]

    def flag(self, subject: str, rules: SignalRules, *, now: dt.datetime | None = None) -> FlagInfo:
        now = now or utcnow()
        with self.db.session() as s:
            counts = self._counts(s, rules, now, [subject]).get(subject, (0, 0, 0))
            return self._info(s, subject, counts, rules, now)

    def _info(
        self,
        s: Session,
        subject: str,
        counts: tuple[int, int, int],
        rules: SignalRules,
        now: dt.datetime,
    ) -> FlagInfo:
        since = now - dt.timedelta(days=rules.window_days)
        ev, cl = ContactEventRow, ContactFlagClearance
        rows = s.execute(
            select(ev.kind, ev.other, ev.created_at)
            .outerjoin(cl, cl.subject == ev.subject)
            .where(ev.subject == subject, ev.created_at >= since, ev.created_at <= now)
            .where(or_(cl.cleared_at.is_(None), ev.created_at > cl.cleared_at))
            .order_by(ev.created_at.desc(), ev.id.desc())
            .limit(500)
        ).all()
        events = tuple(SignalEvent(k, o, at) for k, o, at in rows)
        return FlagInfo(subject, self._reasons(counts, rules), *counts, events)

    def clear(self, subject: str, *, session: Session, now: dt.datetime | None = None) -> None:
        """A lead cleared the flag: events until now no longer count (in the caller's
        write transaction, so the audit record commits with it)."""
        if len(subject) != 64 or not all(c in "0123456789abcdef" for c in subject):
            raise InvalidInput("a flagged account is named by its 64-character keyed id")
        now = now or utcnow()
        exists = session.scalar(
            select(func.count())
            .select_from(ContactEventRow)
            .where(ContactEventRow.subject == subject)
        )
        if not exists:
            raise NotFound("no signals for that account (unknown, or past retention)")
        row = session.get(ContactFlagClearance, subject)
        if row is None:
            session.add(ContactFlagClearance(subject=subject, cleared_at=now))
        else:
            row.cleared_at = now
        with self._lock:
            self._flagged = self._flagged - {subject}

    def add_events_bulk(self, rows: Iterable[tuple[str, str, str, dt.datetime]]) -> int:
        """Insert ``(kind, subject, other, at)`` rows as they are (benchmarks, imports)."""
        n = 0
        batch: list[dict[str, object]] = []
        table = cast(Table, ContactEventRow.__table__)
        with self.db.transaction() as s:
            conn = s.connection()
            for kind, subject, other, at in rows:
                batch.append({"kind": kind, "subject": subject, "other": other, "created_at": at})
                if len(batch) >= 10_000:
                    conn.execute(table.insert(), batch)
                    n += len(batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
                n += len(batch)
        return n
