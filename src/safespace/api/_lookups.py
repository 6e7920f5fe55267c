"""Read-only queries the API needs that the bank service does not offer (yet).

Kept tiny and read-only: every write still goes through :class:`~safespace.banks.BankService`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from safespace.banks._bulk import pairs_condition, stored_pairs
from safespace.banks._info import EntryInfo
from safespace.store import Bank, BankEntry, Database

__all__ = ["entries_for"]

_CHUNK = 500


def entries_for(db: Database, bank: str, pairs: Sequence[tuple[str, str]]) -> list[EntryInfo]:
    """The bank's entries for these (signal type, value) pairs, in id order."""
    found: dict[int, EntryInfo] = {}
    # A digest-stored type's value column holds a digest: look that up, answer the value.
    given = dict(zip(stored_pairs(pairs), pairs, strict=True))
    unique = list(given)
    with db.session() as s:
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            rows = s.scalars(
                select(BankEntry)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.name == bank)
                .where(pairs_condition(chunk))
            )
            for e in rows:
                value = given.get((e.signal_type, e.value), (e.signal_type, e.value))[1]
                found[e.id] = EntryInfo(
                    e.id, bank, e.signal_type, value, e.enabled, e.source, e.category,
                    e.note, e.added_at, dict(e.extra or {}), e.created_at,
                )  # fmt: skip
    return [found[i] for i in sorted(found)]
