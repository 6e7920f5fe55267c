"""Matching content against the banks, from memory, kept current from the change log.

A :class:`Matcher` holds one :class:`~safespace.index.PDQIndex` over the enabled PDQ entries
of enabled banks (index ids are entry ids), dictionaries for exact hashes, and each entry's
bank. Entry details (value, source, note...) stay in the database and are read only for the
entries that matched, so memory stays near 40 bytes per PDQ hash.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import numpy as np
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safespace.banks.match_results import Match, MatchResult, Suppressed
from safespace.errors import BankNotFound, InvalidInput
from safespace.index import PDQIndex
from safespace.signals.types import PDQ, get_signal_type, normalize
from safespace.store import Bank, BankEntry, Change, Database

__all__ = ["Match", "MatchResult", "Matcher", "SignalsLike", "Suppressed"]

_LOAD_CHUNK = 50_000
Row: TypeAlias = tuple[int, int, str, str]  # entry id, bank id, signal type, value


class SignalsLike(Protocol):
    """What matching reads from :class:`safespace.signals.Signals` (any such object works)."""

    @property
    def pdq(self) -> str | None: ...
    @property
    def pdq_quality(self) -> int | None: ...
    @property
    def md5(self) -> str | None: ...
    @property
    def sha256(self) -> str | None: ...


Query: TypeAlias = SignalsLike | Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class _Bank:
    id: int
    name: str
    kind: str
    pdq_distance: int
    enabled: bool


def _active(bank: _Bank | None) -> bool:
    return bank is not None and bank.enabled


class _Entries:
    """The in-memory side: PDQ index, exact-hash lookup, entry -> bank."""

    def __init__(self) -> None:
        self.index = PDQIndex()
        self.bank_of: dict[int, int] = {}
        self.exact: dict[str, dict[str, list[int]]] = {}
        self.exact_key: dict[int, tuple[str, str]] = {}

    def add(self, rows: Sequence[Row]) -> None:
        self.discard([r[0] for r in rows if r[0] in self.bank_of])
        pdq_ids: list[int] = []
        pdq_hex: list[str] = []
        for entry_id, bank_id, signal_type, value in rows:
            self.bank_of[entry_id] = bank_id
            if signal_type == PDQ.name:
                pdq_ids.append(entry_id)
                pdq_hex.append(value)
            else:
                self.exact.setdefault(signal_type, {}).setdefault(value, []).append(entry_id)
                self.exact_key[entry_id] = (signal_type, value)
        if pdq_ids:
            raw = np.frombuffer(bytes.fromhex("".join(pdq_hex)), dtype=np.uint8).reshape(-1, 32)
            self.index.add(np.array(pdq_ids, dtype=np.int64), raw)

    def discard(self, ids: Iterable[int]) -> None:
        pdq: list[int] = []
        for entry_id in ids:
            if self.bank_of.pop(entry_id, None) is None:
                continue
            key = self.exact_key.pop(entry_id, None)
            if key is None:
                pdq.append(entry_id)
                continue
            same = self.exact[key[0]][key[1]]
            same.remove(entry_id)
            if not same:
                del self.exact[key[0]][key[1]]
        if pdq:
            self.index.remove(np.array(pdq, dtype=np.int64))

    def of_bank(self, bank_id: int) -> list[int]:
        return [e for e, b in self.bank_of.items() if b == bank_id]


def _read(s: Session, *where: ColumnElement[bool]) -> Iterator[list[Row]]:
    """Active entries (entry and bank enabled) matching ``where``, in chunks."""
    e = BankEntry
    query = (
        select(e.id, e.bank_id, e.signal_type, e.value)
        .join(Bank, Bank.id == e.bank_id)
        .where(e.enabled.is_(True), Bank.enabled.is_(True), *where)
        .execution_options(yield_per=_LOAD_CHUNK)
    )
    for part in s.execute(query).partitions():
        yield [(int(i), int(b), t, v) for i, b, t, v in part]


def _read_banks(s: Session) -> dict[int, _Bank]:
    return {
        b.id: _Bank(b.id, b.name, b.kind, b.pdq_distance, b.enabled)
        for b in s.scalars(select(Bank))
    }


class Matcher:
    """Matches hashes against every enabled bank; build with :meth:`from_database`.

    Safe to share between threads: matches may run while :meth:`refresh` applies changes.
    """

    def __init__(self, db: Database, *, min_quality: int = 50) -> None:
        if not 0 <= min_quality <= 100:
            raise InvalidInput(f"min_quality must be 0..100, got {min_quality}")
        self.min_quality = min_quality
        self._db = db
        self._entries = _Entries()
        self._banks: dict[int, _Bank] = {}
        self._seq = 0
        self._lock = threading.RLock()
        self._refresh_lock = threading.Lock()

    @classmethod
    def from_database(cls, db: Database, *, min_quality: int = 50) -> Matcher:
        matcher = cls(db, min_quality=min_quality)
        matcher._rebuild(db)
        return matcher

    @property
    def seq(self) -> int:
        """The last change-log sequence number this matcher reflects."""
        return self._seq

    def __len__(self) -> int:
        return len(self._entries.bank_of)

    def _rebuild(self, db: Database) -> None:
        fresh = _Entries()
        with db.session() as s:
            # Read the log position first: anything changed during the load is replayed later.
            seq = s.scalar(select(func.max(Change.seq))) or 0
            banks = _read_banks(s)
            for part in _read(s):
                fresh.add(part)
        with self._lock:
            self._entries, self._banks, self._seq, self._db = fresh, banks, seq, db

    def refresh(self, db: Database | None = None) -> int:
        """Apply the change log since the last load or refresh; returns changes applied.

        Changes are treated as hints of what to re-read: the current state of every touched
        entry and bank is read back, so replaying is idempotent and order-proof.
        """
        db = db or self._db
        with self._refresh_lock:
            with db.session() as s:
                top = s.scalar(select(func.max(Change.seq))) or 0
                if top < self._seq:  # not the database we were built from
                    self._rebuild(db)
                    return 0
                if top == self._seq:
                    return 0
                window = (Change.seq > self._seq) & (Change.seq <= top)
                changes = s.execute(
                    select(Change.bank_id, Change.entry_id, Change.op).where(window)
                ).all()
                banks = _read_banks(s)
                updated = {b for b, _, op in changes if op in ("bank-update", "bank-delete")}
                deleted = {b for b, _, op in changes if op == "bank-delete"}
                drop = [
                    b
                    for b in updated
                    if _active(self._banks.get(b)) and (b in deleted or not _active(banks.get(b)))
                ]
                load = [
                    b
                    for b in updated
                    if _active(banks.get(b)) and (b in deleted or not _active(self._banks.get(b)))
                ]
                touched = {int(e) for _, e, _ in changes if e is not None}
                rows: list[Row] = []
                if load:
                    for part in _read(s, BankEntry.bank_id.in_(load)):
                        rows += part
                if touched:
                    logged = select(Change.entry_id).where(window, Change.entry_id.is_not(None))
                    for part in _read(s, BankEntry.id.in_(logged)):
                        rows += part
            with self._lock:
                for bank_id in drop:
                    self._entries.discard(self._entries.of_bank(bank_id))
                self._entries.discard(touched)
                self._entries.add(rows)
                self._banks, self._seq = banks, top
            return len(changes)

    # --- matching ------------------------------------------------------------------------

    def match(
        self,
        query: Query,
        *,
        dihedral: bool | Sequence[str] = False,
        banks: Sequence[str] | None = None,
    ) -> MatchResult:
        """Match one piece of content, given as a Signals-like object or (type, value) pairs.

        ``dihedral=True`` also searches the 8 rotations/flips of each PDQ hash; a list of
        hashes searches those as variants instead. ``banks`` limits which normal banks are
        reported; enabled allow banks always apply.
        """
        pdqs, exact, quality = _parse_query(query)
        low_quality = bool(pdqs) and quality is not None and quality < self.min_quality
        if low_quality:
            pdqs = []
        elif pdqs and dihedral is not False:
            pdqs = _with_variants(pdqs, dihedral)
        best: dict[int, tuple[int, str]] = {}  # entry -> (distance, signal type)
        with self._lock:
            bank_map = self._banks
            wanted = self._wanted(banks)
            entries = self._entries
            usable = [b for b in bank_map.values() if b.enabled and b.id in wanted]
            if pdqs and usable and len(entries.index):
                radius = max(b.pdq_distance for b in usable)
                for hits in entries.index.search(pdqs, radius=radius):
                    for entry_id, dist in hits:
                        bank = bank_map.get(entries.bank_of.get(entry_id, -1))
                        if bank is None or bank.id not in wanted or dist > bank.pdq_distance:
                            continue
                        if entry_id not in best or dist < best[entry_id][0]:
                            best[entry_id] = (dist, PDQ.name)
            for signal_type, value in exact:
                for entry_id in entries.exact.get(signal_type, {}).get(value, ()):
                    if entries.bank_of.get(entry_id, -1) in wanted:
                        best[entry_id] = (0, signal_type)
            owner = {e: entries.bank_of[e] for e in best}
        found = self._details(best, owner, bank_map)
        return _result(found, low_quality, quality)

    def _wanted(self, names: Sequence[str] | None) -> set[int]:
        """Ids of the banks to report, plus every allow bank."""
        if names is None:
            return set(self._banks)
        by_name = {b.name: b.id for b in self._banks.values()}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise BankNotFound(f"no bank named {missing[0]!r}")
        allow = {b.id for b in self._banks.values() if b.kind == "allow"}
        return {by_name[n] for n in names} | allow

    def _details(
        self, best: dict[int, tuple[int, str]], owner: dict[int, int], banks: dict[int, _Bank]
    ) -> list[Match]:
        """Read the matched entries' details; entries deleted since the last refresh drop out."""
        if not best:
            return []
        e = BankEntry
        with self._db.session() as s:
            columns = (e.id, e.signal_type, e.value, e.source, e.category, e.note, e.added_at)
            rows = s.execute(select(*columns, e.extra).where(e.id.in_(list(best))))
            found: list[Match] = []
            for entry_id, signal_type, value, source, category, note, added_at, extra in rows:
                bank = banks[owner[entry_id]]
                meta: dict[str, Any] = {
                    "source": source,
                    "category": category,
                    "note": note,
                    "added_at": added_at.isoformat().replace("+00:00", "Z") if added_at else None,
                    "extra": dict(extra or {}),
                }
                dist = best[entry_id][0]
                found.append(Match(bank.name, bank.kind, entry_id, signal_type, value, dist, meta))
        return found


def _parse_query(query: Query) -> tuple[list[str], list[tuple[str, str]], int | None]:
    """Split a query into PDQ hashes, exact (type, value) pairs and the PDQ quality."""
    pairs: list[tuple[str, str]] = []
    quality: int | None = None
    if isinstance(query, str | bytes):
        raise InvalidInput("match needs signals or (signal_type, value) pairs, not a string")
    if hasattr(query, "pdq") or hasattr(query, "md5") or hasattr(query, "sha256"):
        for name in ("pdq", "md5", "sha256"):
            value = getattr(query, name, None)
            if value is not None:
                pairs.append((name, value))
        quality = getattr(query, "pdq_quality", None)
    elif isinstance(query, Mapping):
        pairs = [(str(k), str(v)) for k, v in query.items()]
    else:
        for item in query:
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise InvalidInput(f"expected (signal_type, value) pairs, got {item!r}")
            pairs.append((str(item[0]), str(item[1])))
    pdqs: list[str] = []
    exact: list[tuple[str, str]] = []
    for signal_type, value in pairs:
        kind, canonical = normalize(signal_type, value)
        if get_signal_type(kind).by_distance:
            pdqs.append(canonical)
        else:
            exact.append((kind, canonical))
    return pdqs, exact, quality


def _with_variants(pdqs: list[str], dihedral: bool | Sequence[str]) -> list[str]:
    if dihedral is True:
        variants = [v for h in pdqs for v in _dihedral_variants(h)]
    elif isinstance(dihedral, str) or not isinstance(dihedral, Sequence):
        raise InvalidInput("dihedral must be True, False or a list of PDQ hashes")
    else:
        variants = [PDQ.normalize(h) for h in dihedral]
    return list(dict.fromkeys([*pdqs, *variants]))


def _dihedral_variants(pdq: str) -> list[str]:
    from safespace.signals import dihedral_variants  # lazy: image decoding stack

    return dihedral_variants(pdq)


def _result(found: list[Match], low_quality: bool, quality: int | None) -> MatchResult:
    found.sort(key=lambda m: (m.bank, m.distance, m.entry_id))
    allowed = [m for m in found if m.bank_kind == "allow"]
    normal = [m for m in found if m.bank_kind != "allow"]
    if allowed:
        by = min(allowed, key=lambda m: (m.distance, m.entry_id))
        return MatchResult(
            (), tuple(allowed), tuple(Suppressed(m, by) for m in normal), low_quality, quality
        )
    return MatchResult(tuple(normal), (), (), low_quality, quality)
