"""The flood guard: an entry that starts matching far more content than usual, soon after it
arrived, is set aside until a lead looks.

A list that ships a bad hash (the hash of a blank frame, of a logo, a wrong PDQ) makes one
new entry match everything. Every ``check`` counts, per entry, the distinct content ids
matched in the last ``window``: live matches (``match_events``) and retro-matches queued for
review (``retro_hits``), so a bad hash that an import sweeps across the stored uploads is
caught as one that live uploads keep hitting is. An entry is quarantined when all of
these hold: it arrived less than ``new_for`` ago; it matched at least ``min_matches``
contents in the window; that is at least ``factor`` times what is usual in its bank (the
median count of the bank's other entries that matched in the window; with no others, the
minimum alone decides); it is in a bank of kind ``normal``; it was never quarantined before
(a released entry stays released).

Quarantined means: an ``entry_quarantines`` row records the counts, and the entry is
disabled through :class:`~safespace.banks.BankService` (change log and audit), so matchers
drop it at their next refresh and it triggers nothing automatic, and retro-matching, which
searches enabled entries only, leaves it alone; the matches it already made are review items
like any other match. :meth:`FloodGuard.release` (a lead or an
admin) enables it again. A row left by a crash between the two steps is completed by the
next ``check``.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, union, update

from safespace.accounts import role_allows
from safespace.banks import BankService
from safespace.errors import AccessDenied, Conflict, NotFound
from safespace.store import Bank, BankEntry, Database
from safespace.store._models import utcnow
from safespace.store._models_access import MatchEvent
from safespace.store._models_opinions import EntryQuarantine
from safespace.store._models_retro import RetroHit

__all__ = ["FloodGuard", "FloodPolicy", "Quarantine", "quarantine_of"]

log = logging.getLogger("safespace.exchanges.flood")

GUARD_ACTOR = "system"  # the audit actor of work no person asked for


@dataclass(frozen=True)
class FloodPolicy:
    """The thresholds (``SAFESPACE_FLOOD_GUARD_*``); ``min_matches`` 0 turns the guard off."""

    min_matches: int = 100
    factor: float = 10.0
    window: timedelta = timedelta(hours=1)
    new_for: timedelta = timedelta(hours=72)

    @classmethod
    def from_settings(cls, settings: Any) -> FloodPolicy:
        return cls(
            min_matches=int(settings.flood_guard_matches),
            factor=float(settings.flood_guard_factor),
            window=timedelta(minutes=float(settings.flood_guard_window_minutes)),
            new_for=timedelta(hours=float(settings.flood_guard_new_hours)),
        )


@dataclass(frozen=True)
class Quarantine:
    entry_id: int
    bank: str
    matches: int
    usual: int
    status: str
    quarantined_at: datetime
    released_at: datetime | None
    released_by: str | None

    def to_dict(self) -> dict[str, Any]:
        def when(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat().replace("+00:00", "Z")

        return {
            "entry_id": self.entry_id,
            "bank": self.bank,
            "matches": self.matches,
            "usual": self.usual,
            "status": self.status,
            "quarantined_at": when(self.quarantined_at),
            "released_at": when(self.released_at),
            "released_by": self.released_by,
        }


def _info(row: EntryQuarantine) -> Quarantine:
    return Quarantine(
        row.entry_id, row.bank, row.matches, row.usual, row.status, row.quarantined_at,
        row.released_at, row.released_by,
    )  # fmt: skip


def quarantine_of(db: Database, entry_id: int | None) -> Quarantine | None:
    """The flood guard's record of bank entry ``entry_id`` (quarantined or released), if any."""
    if entry_id is None:
        return None
    with db.session() as s:
        row = s.get(EntryQuarantine, entry_id)
        return None if row is None else _info(row)


class FloodGuard:
    """Quarantines flooding entries of ``db``; ``clock`` is replaceable for tests."""

    def __init__(
        self, db: Database, policy: FloodPolicy, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db, self.policy, self.clock = db, policy, clock
        self.banks = BankService(db)

    def check(self) -> list[Quarantine]:
        """Quarantine the entries flooding now; returns the new quarantines."""
        if self.policy.min_matches <= 0:
            return []
        now = self.clock()
        since = now - self.policy.window
        live = select(
            MatchEvent.entry_id.label("entry_id"),
            MatchEvent.bank.label("bank"),
            MatchEvent.content_id.label("content_id"),
        ).where(MatchEvent.created_at >= since)
        retro = (
            select(RetroHit.entry_id, Bank.name, RetroHit.content_id)
            .join(BankEntry, BankEntry.id == RetroHit.entry_id)
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(RetroHit.found_at >= since, RetroHit.outcome == "queued")
        )
        hits = union(live, retro).subquery()  # a content matched both ways counts once
        with self.db.session() as s:
            counts = s.execute(
                select(hits.c.entry_id, hits.c.bank, func.count()).group_by(
                    hits.c.entry_id, hits.c.bank
                )
            ).all()
            known = set(s.scalars(select(EntryQuarantine.entry_id)))
            per_bank: dict[str, list[tuple[int, int]]] = {}
            for entry_id, bank, n in counts:
                per_bank.setdefault(str(bank), []).append((int(entry_id), int(n)))
            wanted: list[tuple[int, str, int, int]] = []
            for bank, rows in per_bank.items():
                for entry_id, n in rows:
                    if n < self.policy.min_matches or entry_id in known:
                        continue
                    others = [m for e, m in rows if e != entry_id]
                    usual = int(statistics.median(others)) if others else 0
                    if others and n < self.policy.factor * max(usual, 1):
                        continue
                    wanted.append((entry_id, bank, n, usual))
            young: list[tuple[int, str, int, int]] = []
            for entry_id, bank, n, usual in wanted:
                row = s.execute(
                    select(BankEntry.created_at, BankEntry.enabled, Bank.kind)
                    .join(Bank, Bank.id == BankEntry.bank_id)
                    .where(BankEntry.id == entry_id)
                ).first()
                if row is None or row.kind != "normal" or not row.enabled:
                    continue
                if row.created_at < now - self.policy.new_for:
                    continue
                young.append((entry_id, bank, n, usual))
        made = []
        for entry_id, bank, n, usual in young:
            with self.db.transaction() as s:
                made_row = EntryQuarantine(
                    entry_id=entry_id, bank=bank, matches=n, usual=usual,
                    window_minutes=int(self.policy.window.total_seconds() // 60),
                    status="quarantined", quarantined_at=now,
                )  # fmt: skip
                s.add(made_row)
                s.flush()
                made.append(_info(made_row))
            log.warning(
                "flood guard: entry %s of bank %s matched %s contents in %s (usual %s): "
                "quarantined until a lead releases it",
                entry_id, bank, n, self.policy.window, usual,
            )  # fmt: skip
        self._disable_quarantined()
        return made

    def _disable_quarantined(self) -> None:
        """Disable every quarantined entry still enabled (also completes a crashed check)."""
        with self.db.session() as s:
            ids = s.scalars(
                select(EntryQuarantine.entry_id)
                .join(BankEntry, BankEntry.id == EntryQuarantine.entry_id)
                .where(EntryQuarantine.status == "quarantined", BankEntry.enabled.is_(True))
            ).all()
        for entry_id in ids:
            self.banks.set_entry_enabled(entry_id, False, actor=GUARD_ACTOR)

    def list(self, *, quarantined_only: bool = True) -> list[Quarantine]:
        with self.db.session() as s:
            query = select(EntryQuarantine).order_by(EntryQuarantine.quarantined_at.desc())
            if quarantined_only:
                query = query.where(EntryQuarantine.status == "quarantined")
            return [_info(r) for r in s.scalars(query)]

    def release(self, entry_id: int, actor: str, role: str) -> Quarantine:
        """A lead (or admin) lets the entry match again: it is enabled, the row kept."""
        if not role_allows(role, "lead"):
            raise AccessDenied("only a lead or an admin may release a quarantined entry")
        now = self.clock()
        with self.db.transaction() as s:
            row = s.get(EntryQuarantine, entry_id)
            if row is None:
                raise NotFound(f"entry {entry_id} is not quarantined")
            if row.status != "quarantined":
                raise Conflict(f"entry {entry_id} was released by {row.released_by}")
            s.execute(
                update(EntryQuarantine)
                .where(EntryQuarantine.entry_id == entry_id)
                .values(status="released", released_at=now, released_by=actor)
                .execution_options(synchronize_session=False)
            )
        self.banks.set_entry_enabled(entry_id, True, actor=f"user:{actor}")
        with self.db.session() as s:
            found = s.get(EntryQuarantine, entry_id)
            assert found is not None
            return _info(found)
