"""Retro-matching: new bank entries searched against the stored content hashes.

:class:`RetroMatcher` reads bank entries (those the change log added or re-enabled since its
checkpoint, or one bank's entries for an on-demand sweep), keeps those active in an enabled
normal bank, and searches them against the content store: entries of the PDQ index type in
the :class:`~safespace.retro._index.ContentIndex` within their bank's distance, entries of an
exact type by value in ``content_signals``. Every hit is read back from the table (content
forgotten or expired since drops out); content that an enabled allow bank lists is recorded
as ``allowed`` and not queued, as a live match would be suppressed; every other hit becomes a
``retro`` review item (or joins the content's open item) with the content id and when it was
seen. ``retro_hits`` keeps each (content, entry) pair once, so a re-run queues nothing twice.

Videos: a remembered video's good frames are PDQ rows with their time (``frame_seconds``), so
a PDQ entry finds a still inside an old video like any stored PDQ (the item says the frame's
time). An entry of a ``FRAMES`` type (vPDQ) has each distinct good frame searched in the
content index within its bank's distance; the hits are grouped by content id, and a stored
video matches when at least the bank's ``query_match_percent`` of the entry's frames and
``compared_match_percent`` of the stored video's frames matched (python-threatexchange's vPDQ
semantics, the entry as the query). Items carry these details as live video matches do
(``hashes["video_matches"]``, the stored video as the item's "query" side).
Which signal type goes where comes from the registry; nothing here names a type.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safespace.banks._changelog import pruned_through
from safespace.banks._info import bank_thresholds
from safespace.banks._match_results import Match
from safespace.errors import BankNotFound
from safespace.index import PDQIndex
from safespace.reports._queue_feeds import QueueFeeds
from safespace.reports._queue_video import MAX_MATCHES, VIDEO_KEY, VideoMatchInfo
from safespace.retro._index import MIH_TYPE, ContentIndex
from safespace.signals import DISTANCE, IndexKind, SignalType, signal_types_with_index
from safespace.store import Bank, BankEntry, Change, Database
from safespace.store._models import utcnow
from safespace.store._models_queue import ReviewCursor, ReviewItem
from safespace.store._models_retro import ContentSignal, RetroHit
from safespace.store._models_values import BankEntryValue

__all__ = ["CURSOR", "RetroMatcher", "SweepResult"]

log = logging.getLogger("safespace.retro")

CURSOR = "retro_changes"  # the review_cursors row: how far the change log was swept
_EXACT = frozenset(t.name for t in signal_types_with_index(IndexKind.EXACT))
_FRAMES: dict[str, SignalType] = {t.name: t for t in signal_types_with_index(IndexKind.FRAMES)}
QUERY_PERCENT = "query_match_percent"  # a FRAMES type's thresholds: share of the entry's frames
COMPARED_PERCENT = "compared_match_percent"  # ... and of the stored video's frames
_TRIGGERS = ("add", "enable")  # change-log ops that make an entry newly matchable
_CHUNK = 5000
_IN = 900  # values per IN (...) list


@dataclass
class SweepResult:
    """What one sweep did: entries searched, hits found, items queued, allowed hits, time."""

    entries: int = 0
    hits: int = 0
    queued: int = 0
    allowed: int = 0
    already: int = 0
    through_seq: int | None = None
    seconds: float = 0.0
    items: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass(frozen=True)
class _Entry:
    id: int
    bank: str
    signal_type: str
    value: str
    category: str | None
    distance: int  # the bank's threshold for this type (0 for exact types)
    percents: tuple[float, float] = (0.0, 0.0)  # a FRAMES type's: entry's %, stored video's %


@dataclass(frozen=True)
class _Hit:
    entry: _Entry
    row: int  # content_signals id
    distance: int
    video: dict[str, Any] | None = None  # a FRAMES entry's match: percentages and ranges


class _Allow:
    """The enabled allow banks' active entries, read once per sweep that has hits."""

    def __init__(self, s: Session) -> None:
        self.exact: set[tuple[str, str]] = set()
        self.index = PDQIndex()
        self.radius: dict[int, int] = {}  # entry id -> its bank's distance
        banks = {b.id: b for b in s.scalars(select(Bank).where(Bank.kind == "allow"))}
        live = [b.id for b in banks.values() if b.enabled]
        if not live:
            return
        e = BankEntry
        rows = s.execute(
            select(e.id, e.bank_id, e.signal_type, e.value).where(
                e.bank_id.in_(live), e.enabled.is_(True)
            )
        ).all()
        ids, hexes = [], []
        for entry_id, bank_id, signal_type, value in rows:
            if signal_type == MIH_TYPE:
                ids.append(int(entry_id))
                hexes.append(value)
                self.radius[int(entry_id)] = bank_thresholds(banks[bank_id])[MIH_TYPE][DISTANCE]
            elif signal_type in _EXACT:
                self.exact.add((signal_type, value))
        if ids:
            self.index.add(ids, hexes)

    def lists(self, signals: Sequence[tuple[str, str]]) -> bool:
        """True when an allow bank lists any of the content's signals."""
        pdqs = [v for t, v in signals if t == MIH_TYPE]
        if any((t, v) in self.exact for t, v in signals):
            return True
        if pdqs and len(self.index):
            for hits in self.index.search(pdqs, radius=max(self.radius.values())):
                if any(d <= self.radius[i] for i, d in hits):
                    return True
        return False


class RetroMatcher:
    """Sweeps new bank entries against the content store of ``db``.

    ``index`` is the in-memory index of stored PDQ hashes, kept between sweeps (synced at the
    start of each); ``clock`` gives the time items are made at (tests pass their own).
    """

    def __init__(
        self,
        db: Database,
        *,
        index: ContentIndex | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.index = index if index is not None else ContentIndex()
        self.clock = clock
        self.feeds = QueueFeeds(db, lambda: self.clock())

    # --- what to sweep ---------------------------------------------------------------------

    def sweep_changes(self) -> SweepResult:
        """Search the entries the change log added or re-enabled since the checkpoint, then
        move the checkpoint. With nothing stored, only the checkpoint moves."""
        started = time.perf_counter()
        with self.db.session() as s:
            top = int(s.scalar(select(func.max(Change.seq))) or 0)
            row = s.get(ReviewCursor, CURSOR)
            position = int(row.position) if row is not None else 0
            pruned = pruned_through(s)
            empty = s.scalar(select(ContentSignal.id).limit(1)) is None
        result = SweepResult(through_seq=top)
        if top > position and not empty:
            if pruned > position:  # the task was off for longer than the log is kept
                log.warning(
                    "retro-match: the change log was pruned past the checkpoint (%d > %d); "
                    "entries added in between need `safespace retro-match --bank NAME`",
                    pruned,
                    position,
                )
            window = (Change.seq > position) & (Change.seq <= top) & Change.op.in_(_TRIGGERS)
            logged = select(Change.entry_id).where(window, Change.entry_id.is_not(None))
            self.index.sync(self.db)
            self._sweep(BankEntry.id.in_(logged), result)
        self._checkpoint(top)
        result.seconds = time.perf_counter() - started
        return result

    def sweep_bank(self, bank: str, since: datetime | None = None) -> SweepResult:
        """Search one bank's active entries (those added at or after ``since``, if given)."""
        started = time.perf_counter()
        with self.db.session() as s:
            bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
        if bank_id is None:
            raise BankNotFound(f"no bank named {bank!r}")
        where: list[ColumnElement[bool]] = [BankEntry.bank_id == bank_id]
        if since is not None:
            where.append(func.coalesce(BankEntry.added_at, BankEntry.created_at) >= since)
        result = SweepResult()
        self.index.sync(self.db)
        self._sweep(where, result)
        result.seconds = time.perf_counter() - started
        return result

    def _checkpoint(self, seq: int) -> None:
        with self.db.transaction() as s:
            row = s.get(ReviewCursor, CURSOR)
            if row is None:
                s.add(ReviewCursor(name=CURSOR, position=seq))
            elif seq > row.position:
                row.position = seq

    # --- the search ------------------------------------------------------------------------

    def _entries(
        self, s: Session, where: ColumnElement[bool] | list[ColumnElement[bool]]
    ) -> Iterator[list[_Entry]]:
        """Active entries in enabled normal banks matching ``where``, in chunks."""
        conditions = where if isinstance(where, list) else [where]
        banks = {b.id: b for b in s.scalars(select(Bank))}
        e = BankEntry
        query = (
            select(e.id, e.bank_id, e.signal_type, e.value, e.category)
            .join(Bank, Bank.id == e.bank_id)
            .where(e.enabled.is_(True), Bank.enabled.is_(True), Bank.kind == "normal")
            .where(*conditions)
            .order_by(e.id)
            .execution_options(yield_per=_CHUNK)
        )
        thresholds = {b.id: bank_thresholds(b) for b in banks.values()}
        for part in s.execute(query).partitions():
            out = []
            whole: dict[int, str] = {}  # a FRAMES entry's value (the column holds a digest)
            videos = [int(r[0]) for r in part if r[2] in _FRAMES]
            for k in range(0, len(videos), _IN):
                whole |= {
                    int(i): v
                    for i, v in s.execute(
                        select(BankEntryValue.entry_id, BankEntryValue.value).where(
                            BankEntryValue.entry_id.in_(videos[k : k + _IN])
                        )
                    )
                }
            for entry_id, bank_id, signal_type, value, category in part:
                if signal_type != MIH_TYPE and signal_type not in _EXACT:
                    if signal_type not in _FRAMES or int(entry_id) not in whole:
                        continue  # a type retro-matching cannot search
                    value = whole[int(entry_id)]
                limits = thresholds[bank_id].get(signal_type, {})
                dist = limits.get(DISTANCE, 0)
                percents = (
                    float(limits.get(QUERY_PERCENT, 0) or 0),
                    float(limits.get(COMPARED_PERCENT, 0) or 0),
                )
                out.append(
                    _Entry(int(entry_id), banks[bank_id].name, signal_type, value, category,
                           int(dist or 0), percents)
                )  # fmt: skip
            yield out

    def _search(self, s: Session, entries: list[_Entry]) -> list[_Hit]:
        hits: list[_Hit] = []
        pdq = [e for e in entries if e.signal_type == MIH_TYPE]
        if pdq and len(self.index):
            radius = max(e.distance for e in pdq)
            found = self.index.search([e.value for e in pdq], radius)
            for entry, rows in zip(pdq, found, strict=True):
                hits += [_Hit(entry, row, d) for row, d in rows if d <= entry.distance]
        by_type: dict[str, dict[str, list[_Entry]]] = {}
        for e in entries:
            if e.signal_type in _EXACT:
                by_type.setdefault(e.signal_type, {}).setdefault(e.value, []).append(e)
        c = ContentSignal
        for signal_type, wanted in by_type.items():
            values = list(wanted)
            for k in range(0, len(values), _IN):
                pairs = s.execute(
                    select(c.id, c.value).where(
                        c.signal_type == signal_type, c.value.in_(values[k : k + _IN])
                    )
                ).all()
                for row_id, value in pairs:
                    hits += [_Hit(e, int(row_id), 0) for e in wanted[value]]
        for e in entries:
            if e.signal_type in _FRAMES:
                hits += self._search_video(s, e)
        return hits

    def _search_video(self, s: Session, entry: _Entry) -> list[_Hit]:
        """A ``FRAMES`` entry against the stored videos' frames, with vPDQ semantics."""
        kind = _FRAMES[entry.signal_type]
        times: dict[str, float] = {}  # the entry's distinct good frames: hash -> first time
        for f in kind.frames(entry.value):
            if int(f.quality) >= kind.frame_quality:
                pdq = str(f.pdq).lower()
                times[pdq] = min(times.get(pdq, float(f.timestamp)), float(f.timestamp))
        if not times or not len(self.index):
            return []
        pdqs = list(times)
        found = self.index.search(pdqs, entry.distance)
        rows = sorted({row for hits in found for row, d in hits if d <= entry.distance})
        c = ContentSignal
        frame_of: dict[int, tuple[str, float]] = {}  # row -> (content id, seconds)
        for k in range(0, len(rows), _IN):
            for row_id, content_id, at in s.execute(
                select(c.id, c.content_id, c.frame_seconds).where(
                    c.id.in_(rows[k : k + _IN]), c.frame_seconds.is_not(None)
                )
            ):
                frame_of[int(row_id)] = (str(content_id), float(at or 0.0))
        # per stored video: the entry frames matched, its frame rows matched, best distance
        asked: dict[str, set[int]] = {}
        stored: dict[str, dict[int, float]] = {}
        nearest: dict[str, tuple[int, int]] = {}  # content -> (distance, row)
        for q, hits in enumerate(found):
            for row, d in hits:
                if d > entry.distance or row not in frame_of:
                    continue
                content_id, at = frame_of[row]
                asked.setdefault(content_id, set()).add(q)
                stored.setdefault(content_id, {})[row] = at
                nearest[content_id] = min(nearest.get(content_id, (d, row)), (d, row))
        contents = sorted(asked)
        totals: dict[str, int] = {}
        for k in range(0, len(contents), _IN):
            totals |= {
                str(cid): int(n)
                for cid, n in s.execute(
                    select(c.content_id, func.count())
                    .where(c.content_id.in_(contents[k : k + _IN]), c.frame_seconds.is_not(None))
                    .group_by(c.content_id)
                )
            }
        out = []
        for content_id in contents:
            entry_share = 100.0 * len(asked[content_id]) / len(pdqs)
            stored_share = 100.0 * len(stored[content_id]) / max(1, totals.get(content_id, 0))
            if entry_share < entry.percents[0] or stored_share < entry.percents[1]:
                continue
            mine = sorted(stored[content_id].values())
            theirs = sorted(times[pdqs[q]] for q in asked[content_id])
            video = {  # as a live match's: "query" is the stored video, "compared" the entry
                "query_match_percent": round(stored_share, 2),
                "compared_match_percent": round(entry_share, 2),
                "query_ranges": [[mine[0], mine[-1]]],
                "compared_ranges": [[theirs[0], theirs[-1]]],
            }
            distance, row = nearest[content_id]
            out.append(_Hit(entry, row, distance, video))
        return out

    def _sweep(
        self, where: ColumnElement[bool] | list[ColumnElement[bool]], result: SweepResult
    ) -> None:
        with self.db.session() as s:
            chunks = list(self._entries(s, where))
        for entries in chunks:
            result.entries += len(entries)
            with self.db.session() as s:
                hits = self._search(s, entries)
            if hits:
                self._queue(hits, result)

    def _queue(self, hits: list[_Hit], result: SweepResult) -> None:
        now = self.clock()
        c = ContentSignal
        with self.db.transaction() as s:
            rows = {}
            ids = sorted({h.row for h in hits})
            for k in range(0, len(ids), _IN):
                for r in s.scalars(select(c).where(c.id.in_(ids[k : k + _IN]), c.expires_at > now)):
                    rows[int(r.id)] = r
            live = [h for h in hits if h.row in rows]  # forgotten or expired: gone
            contents = sorted({rows[h.row].content_id for h in live})
            signals: dict[str, list[tuple[str, str]]] = {}  # its hashes, frames left out
            frames: dict[str, list[tuple[str, str]]] = {}  # a video's frame rows
            seen: dict[str, tuple[datetime, datetime]] = {}
            done: set[tuple[str, int]] = set()
            for k in range(0, len(contents), _IN):
                part = contents[k : k + _IN]
                for r in s.scalars(select(c).where(c.content_id.in_(part))):
                    signals.setdefault(r.content_id, [])
                    kept = signals if r.frame_seconds is None else frames
                    kept.setdefault(r.content_id, []).append((r.signal_type, r.value))
                    first, last = seen.get(r.content_id, (r.first_seen_at, r.last_seen_at))
                    seen[r.content_id] = (min(first, r.first_seen_at), max(last, r.last_seen_at))
                old = s.execute(
                    select(RetroHit.content_id, RetroHit.entry_id).where(
                        RetroHit.content_id.in_(part)
                    )
                ).all()
                done |= {(cid, int(eid)) for cid, eid in old}
            best: dict[tuple[str, int], _Hit] = {}
            for h in live:
                key = (rows[h.row].content_id, h.entry.id)
                if key not in best or h.distance < best[key].distance:
                    best[key] = h
            allow: _Allow | None = None
            queued: dict[str, tuple[list[Match], dict[str, str], str]] = {}
            hits_of: dict[str, list[RetroHit]] = {}
            videos: dict[str, list[VideoMatchInfo]] = {}
            for (content_id, entry_id), h in sorted(best.items()):
                result.hits += 1
                if (content_id, entry_id) in done:
                    result.already += 1
                    continue
                if allow is None:
                    allow = _Allow(s)
                first, last = seen[content_id]
                hit = RetroHit(content_id=content_id, entry_id=entry_id, seen_at=last,
                               found_at=now)  # fmt: skip
                s.add(hit)
                if allow.lists([*signals[content_id], *frames.get(content_id, ())]):
                    hit.outcome = "allowed"
                    result.allowed += 1
                    continue
                e = h.entry
                video, what = _video(h, rows[h.row])
                match = Match(e.bank, "normal", e.id, e.signal_type, e.value, h.distance,
                              {"category": e.category}, video)  # fmt: skip
                reason = (
                    f"Retro-match: content first seen {_when(first)}, last seen {_when(last)}; "
                    f"{what} within {h.distance} of entry {e.id} added to bank {e.bank} later."
                )
                if video is not None:
                    info = {"bank": e.bank, "entry_id": e.id, "signal_type": e.signal_type}
                    videos.setdefault(content_id, []).append(
                        VideoMatchInfo.from_dict({**video, **info})
                    )
                if content_id in queued:
                    matches, hashes, text = queued[content_id]
                    queued[content_id] = ([*matches, match], hashes, f"{text}\n{reason}")
                else:
                    queued[content_id] = ([match], dict(signals[content_id]), reason)
                hit.outcome = "queued"
                hits_of.setdefault(content_id, []).append(hit)
                result.queued += 1
            items = self.feeds.retro(s, queued) if queued else {}
            for content_id, made in hits_of.items():
                for hit in made:
                    hit.review_item_id = items[content_id]
            for content_id, found in videos.items():
                _note_videos(s, items[content_id], found)
            result.items += sorted(set(items.values()))


def _video(h: _Hit, row: ContentSignal) -> tuple[dict[str, Any] | None, str]:
    """A hit's video details for its item and the reason's words for what matched."""
    kind = h.entry.signal_type
    if h.video is not None:
        v = h.video
        return v, (
            f"its video frames match the {kind} entry: {v['compared_match_percent']:g}% of "
            f"the entry's frames, {v['query_match_percent']:g}% of the stored video's, each"
        )
    if row.frame_seconds is not None:
        at = float(row.frame_seconds)
        return {"query_timestamp": at, "query_ranges": [[at, at]]}, (
            f"its video frame at {at:g} s is a {kind} hash"
        )
    return None, f"its {kind} hash is"


def _note_videos(s: Session, item_id: int, found: list[VideoMatchInfo]) -> None:
    """Add video details to an item's ``hashes`` as the live upload path keeps them."""
    item = s.get(ReviewItem, item_id)
    if item is None:  # pragma: no cover (the item was just written)
        return
    hashes = dict(item.hashes or {})
    held = hashes.get(VIDEO_KEY) if isinstance(hashes.get(VIDEO_KEY), dict) else {}
    old = [m for m in (held or {}).get("matches") or () if isinstance(m, dict)]
    hashes[VIDEO_KEY] = {
        **(held or {}),
        "matches": [*old, *(m.to_dict() for m in found)][:MAX_MATCHES],
        "frame_times": list((held or {}).get("frame_times") or ()),
    }
    item.hashes = hashes


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")
