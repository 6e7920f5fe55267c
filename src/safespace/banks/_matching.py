"""Matching content against the banks, from memory, kept current from the change log.

A :class:`Matcher` holds one :class:`~safespace.index.PDQIndex` over the enabled entries of
the signal type whose index is the PDQ multi-index hashing index (``IndexKind.PDQ_MIH``) in
enabled banks (index ids are entry ids), sorted tables for the exact types
(``IndexKind.EXACT``), and each entry's bank. Which type goes where, and each bank's match
thresholds, come from the signal type registry; nothing here names a type. Entry details
(value, source, note...) stay in the database and are read only for the entries that
matched, so memory stays near 40 bytes per PDQ hash.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safespace.banks import _bulk as bulk
from safespace.banks import _snapshot as snap
from safespace.banks._changelog import pruned_through
from safespace.banks._info import bank_thresholds
from safespace.banks._match_results import Match, MatchResult, Suppressed
from safespace.banks._matching_frames import FRAME_TYPES, Frame, FrameEntries, video_thresholds
from safespace.banks._snapshot import ExactTable
from safespace.banks._text_match import TextMatchResult, WordIndex, match_text
from safespace.errors import BankNotFound, IndexFormatError, InvalidInput
from safespace.index import PDQIndex
from safespace.index._frames import time_ranges
from safespace.signals import (
    DISTANCE,
    SIGNAL_TYPES,
    IndexKind,
    SignalType,
    effective_thresholds,
    get_signal_type,
    signal_types_with_index,
)
from safespace.store import Bank, BankEntry, Change, Database

__all__ = ["Match", "MatchResult", "Matcher", "SignalsLike", "Suppressed"]

log = logging.getLogger("safespace.matcher")

_LOAD_CHUNK = 50_000
DETAILS_CACHE = 65_536  # matched entries whose details are kept in memory
Row: TypeAlias = tuple[int, int, str, str]  # entry id, bank id, signal type, value

# The type searched by distance in the PDQ index (at most one: the registry checks).
_MIH: SignalType | None = next(iter(signal_types_with_index(IndexKind.PDQ_MIH)), None)
_MIH_NAME = _MIH.name if _MIH is not None else None
_EXACT = frozenset(t.name for t in signal_types_with_index(IndexKind.EXACT))
_DIGEST_STORED = frozenset(t.name for t in SIGNAL_TYPES.values() if t.digest_stored)
_WORDS = frozenset(t.name for t in signal_types_with_index(IndexKind.KEYWORDS))


class SignalsLike(Protocol):
    """What matching reads from :class:`safespace.signals.Signals` (any such object works):
    an attribute named after each signal type it has a value of, and that type's
    ``quality_field``. These are the built-ins' names."""

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
    thresholds: dict[str, dict[str, int]]  # signal type -> threshold name -> value
    enabled: bool

    def distance(self, signal_type: str) -> int:
        return self.thresholds[signal_type][DISTANCE]


def _active(bank: _Bank | None) -> bool:
    return bank is not None and bank.enabled


class _Entries:
    """The in-memory side: PDQ index, exact-hash lookup, and entry id -> bank id.

    Entry ids come from one sequence and are never reused, so entry -> bank is a dense array
    (5 bytes per id). Exact hashes live in sorted tables (built at load, or mapped from a
    snapshot) plus a small dictionary of later additions. Both may keep ids of entries since
    disabled or removed: lookups check the array, and the next snapshot or rebuild sheds them.
    """

    def __init__(
        self,
        index: PDQIndex | None = None,
        bank: npt.NDArray[np.int32] | None = None,
        pdq: npt.NDArray[np.bool_] | None = None,
        base: dict[str, ExactTable] | None = None,
        count: int = 0,
        frames: FrameEntries | None = None,
    ) -> None:
        self.index = index if index is not None else PDQIndex()
        self.frames = frames if frames is not None else FrameEntries()  # IndexKind.FRAMES
        self.base: dict[str, ExactTable] = base or {}
        # signal type -> raw digest -> entry id (or ids, when several banks list it)
        self.exact: dict[str, dict[bytes, int | list[int]]] = {}
        self.words = WordIndex()  # keyword entries (IndexKind.KEYWORDS), never snapshotted
        self._bank = bank if bank is not None else np.zeros(0, dtype=np.int32)  # 0: not loaded
        self._pdq = pdq if pdq is not None else np.zeros(0, dtype=np.bool_)
        self._count = count

    def __len__(self) -> int:
        return self._count

    def exact_ids(self, signal_type: str, value: str) -> list[int]:
        if signal_type in _WORDS:  # the keywords found in the value, read as a text
            return list(dict.fromkeys(e for e, *_ in self.words.find(value)))
        return self.key_ids(signal_type, _key(signal_type, value))

    def key_ids(self, signal_type: str, digest: bytes) -> list[int]:
        """Entries of an exact type whose key (:meth:`SignalType.key`) is ``digest``."""
        table = self.base.get(signal_type)
        found = table.lookup(digest) if table is not None else []
        have = self.exact.get(signal_type, {}).get(digest)
        if have is not None:
            found += [have] if isinstance(have, int) else have
        return list(dict.fromkeys(found))

    def bank_of(self, entry_id: int) -> int:
        """The entry's bank id, or 0 when the entry is not loaded."""
        return int(self._bank[entry_id]) if 0 <= entry_id < len(self._bank) else 0

    def build(self, parts: Iterable[list[Row]]) -> None:
        """Bulk load into an empty instance: one index add, sorted exact tables."""
        ids: list[npt.NDArray[np.int64]] = []
        banks: list[npt.NDArray[np.int32]] = []
        pdq_ids: list[npt.NDArray[np.int64]] = []
        pdq_raw: list[bytes] = []
        exact: dict[str, tuple[list[bytes], list[int]]] = {}
        for part in parts:
            e_ids, b_ids, types, values = zip(*part, strict=True)
            arr = np.array(e_ids, dtype=np.int64)
            ids.append(arr)
            banks.append(np.array(b_ids, dtype=np.int32))
            is_pdq = np.array([t == _MIH_NAME for t in types], dtype=np.bool_)
            pdq_ids.append(arr[is_pdq])
            pdq_hex = (v for t, v in zip(types, values, strict=True) if t == _MIH_NAME)
            pdq_raw.append(bytes.fromhex("".join(pdq_hex)))
            if not is_pdq.all():
                for entry_id, t, v in zip(e_ids, types, values, strict=True):
                    if t in _EXACT:
                        keys, owners = exact.setdefault(t, ([], []))
                        keys.append(_key(t, v))
                        owners.append(entry_id)
                    elif t in _WORDS:
                        self.words.add(entry_id, v)
                self.frames.add((i, t, v) for i, t, v in zip(e_ids, types, values, strict=True)
                                if t in FRAME_TYPES)  # fmt: skip
        if not ids:
            return
        all_ids = np.concatenate(ids)
        self._grow(int(all_ids.max()) + 1)
        self._bank[all_ids] = np.concatenate(banks)
        p_ids = np.concatenate(pdq_ids)
        self._pdq[p_ids] = True
        self._count = len(np.unique(all_ids))
        if len(p_ids):
            raw = np.frombuffer(b"".join(pdq_raw), dtype=np.uint8).reshape(-1, 32)
            self.index.add(p_ids, raw)
        for t, (keys, owners) in exact.items():
            self.base[t] = ExactTable.build(_width(t), keys, owners)

    def add(self, rows: Sequence[Row]) -> None:
        unique = list({r[0]: r for r in rows}.values())
        if not unique:
            return
        ids = np.fromiter((r[0] for r in unique), dtype=np.int64, count=len(unique))
        self.discard(ids)
        self._grow(int(ids.max()) + 1)
        self._bank[ids] = np.fromiter((r[1] for r in unique), dtype=np.int32, count=len(ids))
        is_pdq = np.fromiter((r[2] == _MIH_NAME for r in unique), dtype=np.bool_, count=len(ids))
        self._pdq[ids] = is_pdq
        self._count += len(ids)
        for entry_id, _, signal_type, value in unique:
            if signal_type in _EXACT:
                table = self.exact.setdefault(signal_type, {})
                key = _key(signal_type, value)
                have = table.get(key)
                if have is None:
                    table[key] = entry_id
                elif isinstance(have, int):
                    if have != entry_id:
                        table[key] = [have, entry_id]
                elif entry_id not in have:
                    have.append(entry_id)
            elif signal_type in _WORDS:
                self.words.add(entry_id, value)
        self.frames.add((r[0], r[2], r[3]) for r in unique if r[2] in FRAME_TYPES)
        if is_pdq.any():
            hexes = "".join(r[3] for r in unique if r[2] == _MIH_NAME)
            raw = np.frombuffer(bytes.fromhex(hexes), dtype=np.uint8).reshape(-1, 32)
            self.index.add(ids[is_pdq], raw)

    def discard(self, ids: Iterable[int] | npt.NDArray[np.int64]) -> None:
        if isinstance(ids, np.ndarray):
            arr = np.unique(ids.astype(np.int64, copy=False))
        else:
            arr = np.unique(np.fromiter(ids, dtype=np.int64))
        arr = arr[(arr >= 0) & (arr < len(self._bank))]
        arr = arr[self._bank[arr] != 0]
        if not len(arr):
            return
        pdq = arr[self._pdq[arr]]
        if len(self.frames):
            self.frames.discard(arr[~self._pdq[arr]].tolist())
        self.words.discard(arr.tolist() if len(self.words) else ())
        self._bank[arr] = 0
        self._pdq[arr] = False
        self._count -= len(arr)
        if len(pdq):
            self.index.remove(pdq)

    def of_bank(self, bank_id: int) -> npt.NDArray[np.int64]:
        return np.flatnonzero(self._bank == bank_id).astype(np.int64)

    def exact_tables(self) -> dict[str, ExactTable]:
        """Base tables merged with later additions, without dead rows (for a snapshot)."""
        out = {}
        for t in sorted(set(self.base) | set(self.exact)):
            width = _width(t)
            base = self.base.get(t) or ExactTable.empty(width)
            keys: list[bytes] = []
            owners: list[int] = []
            for key, have in self.exact.get(t, {}).items():
                for entry_id in [have] if isinstance(have, int) else have:
                    keys.append(key)
                    owners.append(entry_id)
            ids = np.asarray(base.ids)
            inside = np.minimum(ids, max(len(self._bank) - 1, 0))
            live = (ids < len(self._bank)) & (self._bank[inside] != 0)
            dup = np.isin(ids, np.asarray(owners, dtype=np.int64))  # re-added: keep one row
            fresh = [(k, e) for k, e in zip(keys, owners, strict=True) if self.bank_of(e) != 0]
            out[t] = base.merged(live & ~dup, [k for k, _ in fresh], [e for _, e in fresh])
        return out

    def _grow(self, size: int) -> None:
        if size <= len(self._bank):
            return
        size = max(size, 2 * len(self._bank), 1024)
        bank, pdq = np.zeros(size, dtype=np.int32), np.zeros(size, dtype=np.bool_)
        bank[: len(self._bank)], pdq[: len(self._pdq)] = self._bank, self._pdq
        self._bank, self._pdq = bank, pdq


def _key(signal_type: str, value: str) -> bytes:
    """The digest an exact table holds for a canonical value of ``signal_type``."""
    return SIGNAL_TYPES[signal_type].key(value)


def _width(signal_type: str) -> int:
    width = get_signal_type(signal_type).width
    if width is None:
        raise IndexFormatError(f"{signal_type} has no fixed width: it cannot be an exact table")
    return width


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
        rows = [(int(i), int(b), t, v) for i, b, t, v in part]
        digests = [r[0] for r in rows if r[2] in _DIGEST_STORED]
        if digests:  # read such values whole (the value column holds their digest)
            whole = bulk.whole_values(s, digests)
            rows = [(i, b, t, whole.get(i, v)) for i, b, t, v in rows]
        yield rows


def _read_banks(s: Session) -> dict[int, _Bank]:
    return {
        b.id: _Bank(b.id, b.name, b.kind, bank_thresholds(b), b.enabled)
        for b in s.scalars(select(Bank))  # with their thresholds (selectin)
    }


class Matcher:
    """Matches hashes against every enabled bank; build with :meth:`from_database`, or with
    :meth:`load_or_build` to start from a snapshot on local disk.

    Safe to share between threads: matches may run while :meth:`refresh` applies changes or
    :meth:`save_snapshot` writes one.
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
        # entry id -> (signal type, value, metadata): details of hits, so a repeated hit needs
        # no query. Entry details never change; removals are seen at the next refresh.
        self._details_cache: OrderedDict[int, tuple[str, str, dict[str, Any]]] = OrderedDict()
        self.snapshot: Path | None = None  # the snapshot this matcher started from

    @classmethod
    def from_database(cls, db: Database, *, min_quality: int = 50) -> Matcher:
        matcher = cls(db, min_quality=min_quality)
        matcher._rebuild(db)
        return matcher

    @classmethod
    def from_snapshot(cls, db: Database, path: Path, *, min_quality: int = 50) -> Matcher:
        """Open one snapshot (memory-mapped) and catch up with the change log.

        :class:`IndexFormatError` when the snapshot is damaged or not of this database.
        """
        data = snap.load_snapshot(Path(path))
        if data.identity != snap.database_identity(db) or data.mark != snap.log_mark(db, data.seq):
            raise IndexFormatError(
                f"matcher snapshot {Path(path).name} is of another database (or an older copy)"
            )
        matcher = cls(db, min_quality=min_quality)
        banks = {}
        for b in data.banks:
            thresholds = effective_thresholds(b.get("thresholds") or {})
            bank = _Bank(int(b["id"]), str(b["name"]), str(b["kind"]), thresholds,
                         bool(b["enabled"]))  # fmt: skip
            banks[bank.id] = bank
        frames = FrameEntries.from_arrays(data.frames)
        matcher._entries = _Entries(data.index, data.bank, data.pdq, data.exact, data.count, frames)
        matcher._banks, matcher._seq, matcher.snapshot = banks, data.seq, Path(path)
        if _WORDS:  # keyword entries are not in snapshots: few, read from the database
            # bank by bank through the bank's key (bank, type, value): by type alone would be
            # a scan of every entry of every bank
            every_bank = BankEntry.bank_id.in_(select(Bank.id))
            with db.session() as s:
                for part in _read(s, every_bank, BankEntry.signal_type.in_(_WORDS)):
                    matcher._entries.add(part)
        matcher.refresh()
        return matcher

    @classmethod
    def load_or_build(
        cls, db: Database, folder: str | os.PathLike[str], *, min_quality: int = 50
    ) -> Matcher:
        """Start from this database's newest usable snapshot in ``folder``; without one, build
        from the database and write one (one process at a time: others wait, then load it)."""
        folder = Path(folder)
        identity = snap.database_identity(db)
        tried: set[Path] = set()

        def newest() -> Matcher | None:
            for path in snap.list_snapshots(folder, identity):
                if path in tried:
                    continue
                tried.add(path)
                try:
                    return cls.from_snapshot(db, path, min_quality=min_quality)
                except IndexFormatError as exc:
                    log.warning("%s; trying the next one or rebuilding", exc)
            return None

        matcher = newest()
        if matcher is not None:
            return matcher
        with snap.snapshot_lock(folder):
            matcher = newest()  # written by another process while this one waited
            if matcher is not None:
                return matcher
            for bad in tried:
                shutil.rmtree(bad, ignore_errors=True)
            matcher = cls.from_database(db, min_quality=min_quality)
            matcher.snapshot = matcher._write(folder)
        return matcher

    @classmethod
    def update_snapshot(
        cls, db: Database, folder: str | os.PathLike[str], *, min_changes: int
    ) -> Path | None:
        """Write a new snapshot when the newest is ``min_changes`` or more changes behind.

        Works on a private matcher (the newest snapshot plus the log), so serving matchers
        are never paused. Returns None when none was needed or another process is writing.
        """
        folder = Path(folder)
        with snap.snapshot_lock(folder, wait=False) as mine:
            if not mine:
                return None
            identity = snap.database_identity(db)
            with db.session() as s:
                top = s.scalar(select(func.max(Change.seq))) or 0
            for path in snap.list_snapshots(folder, identity):
                if top - snap.snapshot_seq(path) < min_changes:
                    return None
                try:
                    return cls.from_snapshot(db, path)._write(folder)
                except IndexFormatError as exc:
                    log.warning("%s; trying the next one or rebuilding", exc)
                    shutil.rmtree(path, ignore_errors=True)
            return cls.from_database(db)._write(folder)

    def save_snapshot(self, folder: str | os.PathLike[str]) -> Path:
        """Write this matcher's state as a new snapshot in ``folder``; returns its path.

        Matches go on meanwhile; refreshes wait until it is written.
        """
        folder = Path(folder)
        with snap.snapshot_lock(folder):
            return self._write(folder)

    def _write(self, folder: Path) -> Path:
        """Write a snapshot (the caller holds the folder's lock)."""
        with self._refresh_lock:
            e = self._entries
            data = snap.SnapshotData(
                seq=self._seq,
                identity=snap.database_identity(self._db),
                mark=snap.log_mark(self._db, self._seq),
                count=len(e),
                banks=[dataclasses.asdict(b) for b in self._banks.values()],
                bank=e._bank,
                pdq=e._pdq,
                exact=e.exact_tables(),
                index=e.index,
                frames=e.frames.arrays(),
            )
            path = snap.write_snapshot(folder, data)
        snap.prune(folder, data.identity)
        return path

    @property
    def seq(self) -> int:
        """The last change-log sequence number this matcher reflects."""
        return self._seq

    def __len__(self) -> int:
        return len(self._entries)

    def _rebuild(self, db: Database) -> None:
        fresh = _Entries()
        with db.session() as s:
            # Read the log position first: anything changed during the load is replayed later.
            seq = s.scalar(select(func.max(Change.seq))) or 0
            banks = _read_banks(s)
            fresh.build(_read(s))
        with self._lock:
            self._entries, self._banks, self._seq, self._db = fresh, banks, seq, db
            self._details_cache.clear()

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
                if pruned_through(s) > self._seq:
                    raise IndexFormatError(
                        f"the change log was pruned past this matcher's position ({self._seq});"
                        " it must be reloaded"
                    )
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
                if drop:
                    self._details_cache.clear()
                for entry_id in touched:
                    self._details_cache.pop(entry_id, None)
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
        result = self._match(query, dihedral, banks, cached_only=False)
        assert result is not None
        return result

    def match_cached(
        self,
        query: Query,
        *,
        dihedral: bool | Sequence[str] = False,
        banks: Sequence[str] | None = None,
    ) -> MatchResult | None:
        """Like :meth:`match`, but None instead of reading the database: never blocks, so an
        event loop can call it directly (a miss, or hits whose details are cached) and fall
        back to :meth:`match` in a thread when it gets None."""
        return self._match(query, dihedral, banks, cached_only=True)

    def _match(
        self,
        query: Query,
        dihedral: bool | Sequence[str],
        banks: Sequence[str] | None,
        *,
        cached_only: bool,
    ) -> MatchResult | None:
        pdqs, exact, quality, videos = _parse_query_frames(query)
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
            if pdqs and usable and len(entries.index) and _MIH_NAME is not None:
                radius = max(b.distance(_MIH_NAME) for b in usable)
                for hits in entries.index.search(pdqs, radius=radius):
                    for entry_id, dist in hits:
                        bank = bank_map.get(entries.bank_of(entry_id))
                        if bank is None or bank.id not in wanted:
                            continue
                        if dist > bank.distance(_MIH_NAME):
                            continue
                        if entry_id not in best or dist < best[entry_id][0]:
                            best[entry_id] = (dist, _MIH_NAME)
            for signal_type, value in exact:
                for entry_id in entries.exact_ids(signal_type, value):
                    if entries.bank_of(entry_id) in wanted:
                        best[entry_id] = (0, signal_type)
            where: dict[int, dict[str, Any]] = {}
            for signal_type, frames in videos:
                self._match_frames(signal_type, frames, usable, dihedral is True, best, where)
            owner = {e: entries.bank_of(e) for e in best}
        found = self._details(best, owner, bank_map, cached_only, where)
        return None if found is None else _result(found, low_quality, quality)

    def match_text(self, text: str, *, banks: Sequence[str] | None = None) -> TextMatchResult:
        """Listed links and keywords in a text (a post, a message), each with its span.

        Links are found however hidden and looked up by their Safe Browsing expressions in
        the URL banks; keywords by Deter's normaliser and automaton. The text is not kept:
        results hold the bank entries and the spans. ``banks`` as in :meth:`match`.
        """
        return match_text(self, text, banks)

    def _match_frames(
        self,
        signal_type: str,
        frames: list[Frame],
        usable: list[_Bank],
        dihedral: bool,
        best: dict[int, tuple[int, str]],
        where: dict[int, dict[str, Any]],
    ) -> None:
        """A query video (``FRAMES`` type) against the banked videos of its type, by each
        bank's thresholds, and its good frames against the PDQ index (a known still inside
        the video), each hit with the times it shows at. Call with the lock held."""
        if not usable:
            return
        entries, banks = self._entries, {b.id: b for b in usable}

        def limits(entry_id: int) -> Any:
            bank = banks.get(entries.bank_of(entry_id))
            return None if bank is None else video_thresholds(bank.thresholds[signal_type])

        radius = max(b.thresholds[signal_type][DISTANCE] for b in usable)
        for m in entries.frames.search(signal_type, frames, limits, radius, dihedral):
            best[m.video_id] = (m.distance, signal_type)
            where[m.video_id] = {
                "query_match_percent": m.query_match_percent,
                "compared_match_percent": m.compared_match_percent,
                "query_ranges": [list(r) for r in m.query_ranges],
                "compared_ranges": [list(r) for r in m.compared_ranges],
            }
        if _MIH_NAME is None or not len(entries.index):
            return
        floor = max(FRAME_TYPES[signal_type].frame_quality, self.min_quality)
        times: dict[str, list[float]] = {}
        for f in frames:
            if f.quality >= floor:
                times.setdefault(f.pdq, []).append(f.timestamp)
        if not times:
            return
        keys = list(times)
        probes, owner = keys, list(range(len(keys)))
        if dihedral:
            varied = [(v, i) for i, h in enumerate(probes) for v in _dihedral_variants(h)]
            probes, owner = [v for v, _ in varied], [i for _, i in varied]
        mih = _MIH_NAME
        radius = max(b.distance(mih) for b in usable)
        seen: dict[int, tuple[int, list[float]]] = {}
        for probe, hits in enumerate(entries.index.search(probes, radius=radius)):
            at = times[keys[owner[probe]]]
            for entry_id, dist in hits:
                bank = banks.get(entries.bank_of(entry_id))
                if bank is None or dist > bank.distance(mih):
                    continue
                have = seen.setdefault(entry_id, (dist, []))
                seen[entry_id] = (min(have[0], dist), have[1] + at)
        for entry_id, (dist, at) in seen.items():
            if entry_id not in best or dist < best[entry_id][0]:
                best[entry_id] = (dist, mih)
            where[entry_id] = {
                "query_timestamp": min(at),
                "query_ranges": [list(r) for r in time_ranges(at)],
            }

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
        self,
        best: dict[int, tuple[int, str]],
        owner: dict[int, int],
        banks: dict[int, _Bank],
        cached_only: bool = False,
        where: Mapping[int, Mapping[str, Any]] | None = None,
    ) -> list[Match] | None:
        """The matched entries' details, from the cache or the database; entries deleted
        since they were last read drop out."""
        if not best:
            return []
        cache = self._details_cache
        known: dict[int, tuple[str, str, dict[str, Any]]] = {}
        with self._lock:
            for entry_id in best:
                hit = cache.get(entry_id)
                if hit is not None:
                    known[entry_id] = hit
        missing = [i for i in best if i not in known]
        if missing and cached_only:
            return None
        if missing:
            e = BankEntry
            columns = (e.id, e.signal_type, e.value, e.source, e.category, e.note, e.added_at)
            with self._db.session() as s:
                rows = s.execute(select(*columns, e.extra).where(e.id.in_(missing))).all()
            read = {}
            for entry_id, signal_type, value, source, category, note, added_at, extra in rows:
                meta: dict[str, Any] = {
                    "source": source,
                    "category": category,
                    "note": note,
                    "added_at": added_at.isoformat().replace("+00:00", "Z") if added_at else None,
                    "extra": dict(extra or {}),
                }
                read[int(entry_id)] = (signal_type, value, meta)
            known |= read
            with self._lock:
                cache.update(read)
                while len(cache) > DETAILS_CACHE:
                    cache.popitem(last=False)
        found: list[Match] = []
        for entry_id, (signal_type, value, meta) in known.items():
            bank = banks[owner[entry_id]]
            dist = best[entry_id][0]
            item = Match(bank.name, bank.kind, entry_id, signal_type, value, dist, dict(meta))
            if where and entry_id in where:  # a video's match: how much of it, and where
                item = dataclasses.replace(item, frames=dict(where[entry_id]))
            found.append(item)
        return found


def _parse_query(query: Query) -> tuple[list[str], list[tuple[str, str]], int | None]:
    """Split a query into hashes for the PDQ index, exact (type, value) pairs and the
    quality of the PDQ-index type's value."""
    pdqs, exact, quality, _ = _parse_query_frames(query)
    return pdqs, exact, quality


def _parse_query_frames(
    query: Query,
) -> tuple[list[str], list[tuple[str, str]], int | None, list[tuple[str, list[Frame]]]]:
    """:func:`_parse_query` and the query's values of ``FRAMES`` types, as frames."""
    pairs: list[tuple[str, str]] = []
    quality: int | None = None
    if isinstance(query, str | bytes):
        raise InvalidInput("match needs signals or (signal_type, value) pairs, not a string")
    if any(hasattr(query, name) for name in SIGNAL_TYPES):
        for kind in SIGNAL_TYPES.values():
            value = kind.compute(query)
            if value is not None:
                pairs.append((kind.name, value))
        quality = _MIH.quality(query) if _MIH is not None else None
    elif isinstance(query, Mapping):
        pairs = [(str(k), str(v)) for k, v in query.items()]
    else:
        for item in cast(Iterable[tuple[str, str]], query):
            if not isinstance(item, tuple | list) or len(item) != 2:
                raise InvalidInput(f"expected (signal_type, value) pairs, got {item!r}")
            pairs.append((str(item[0]), str(item[1])))
    pdqs: list[str] = []
    exact: list[tuple[str, str]] = []
    videos: list[tuple[str, list[Frame]]] = []
    for signal_type, value in pairs:
        kind = get_signal_type(signal_type)
        canonical = kind.normalize(value)
        if kind.index is IndexKind.PDQ_MIH:
            pdqs.append(canonical)
        elif kind.index in (IndexKind.EXACT, IndexKind.KEYWORDS):  # keywords: see exact_ids
            exact.append((kind.name, canonical))
        elif kind.index is IndexKind.FRAMES:
            frames = [Frame(f.pdq, f.quality, f.timestamp) for f in kind.frames(canonical)]
            videos.append((kind.name, frames))
        else:
            raise InvalidInput(f"the matcher cannot search {kind.name} ({kind.index} index) yet")
    return pdqs, exact, quality, videos


def _with_variants(pdqs: list[str], dihedral: bool | Sequence[str]) -> list[str]:
    if dihedral is True:
        variants = [v for h in pdqs for v in _dihedral_variants(h)]
    elif isinstance(dihedral, str) or not isinstance(dihedral, Sequence):
        raise InvalidInput("dihedral must be True, False or a list of PDQ hashes")
    else:
        assert _MIH is not None  # there are hashes to vary
        variants = [_MIH.normalize(h) for h in dihedral]
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
