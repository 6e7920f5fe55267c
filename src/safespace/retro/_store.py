"""The opt-in content-hash store: which hashes a platform's content had, and when it was seen.

Only hashes are kept (one ``content_signals`` row per signal of a content id), with when the
content was first and last seen and until when the row may be kept (``last_seen`` plus the
retention period). Never media, never the caller's address. A content id is forgotten on
request (:meth:`ContentStore.forget`), and :meth:`ContentStore.purge` deletes what is past
its time; the retro-match task calls it. Which signals are kept comes from the signal type
registry: those the matcher searches (the PDQ index type and the exact types). A video's
frames (a ``FRAMES`` type's value: its frame list or signal string) are kept as rows of the
PDQ index type with the frame's time in ``frame_seconds``: each distinct good frame once
(quality at least the matcher's and the type's ``frame_quality``), at its first time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from safespace.access import check_content_id
from safespace.config import Settings
from safespace.signals import SIGNAL_TYPES, IndexKind, get_signal_type
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_retro import ContentSignal

__all__ = ["STORED_KINDS", "ContentStore", "StoredSignal", "content_frames", "content_pairs"]

STORED_KINDS = (IndexKind.PDQ_MIH, IndexKind.EXACT)  # what retro-matching can search
_PURGE_BATCH = 10_000
_INSERT_BATCH = 20_000


@dataclass(frozen=True)
class StoredSignal:
    """One stored hash of one content id (``id`` is its key in the content index)."""

    id: int
    content_id: str
    signal_type: str
    value: str
    first_seen_at: datetime
    last_seen_at: datetime
    frame_seconds: float | None = None  # a video frame's time (a PDQ row); None otherwise

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("first_seen_at", "last_seen_at"):
            out[k] = out[k].isoformat().replace("+00:00", "Z")
        return out


def content_pairs(signals: object, *, min_quality: int = 0) -> list[tuple[str, str]]:
    """(signal type, canonical value) of every storable signal in ``signals``: a Signals-like
    object (an attribute per type, and its quality field) or a mapping of type to value.
    A value below ``min_quality`` is left out, as the matcher leaves it out."""
    out: list[tuple[str, str]] = []
    for name, kind in SIGNAL_TYPES.items():
        if kind.index not in STORED_KINDS:
            continue
        mapping = isinstance(signals, Mapping)
        value = signals.get(name) if isinstance(signals, Mapping) else getattr(signals, name, None)
        if not value:
            continue
        quality = None if mapping else kind.quality(signals)
        if quality is not None and quality < min_quality:
            continue
        out.append((name, get_signal_type(name).normalize(str(value))))
    return out


def content_frames(signals: object, *, min_quality: int = 0) -> list[tuple[str, float]]:
    """(PDQ hex, seconds) of a video's good frames in ``signals`` (a ``FRAMES`` type's value:
    a list of frames, as ``/v1/match`` hashes an upload, or its signal string): each distinct
    hash once, at its first time; frames below ``min_quality`` or the type's
    ``frame_quality`` are left out. Empty when there is no PDQ index type to keep them as."""
    if not any(k.index == IndexKind.PDQ_MIH for k in SIGNAL_TYPES.values()):
        return []
    first: dict[str, float] = {}
    for name, kind in SIGNAL_TYPES.items():
        if kind.index != IndexKind.FRAMES:
            continue
        value = signals.get(name) if isinstance(signals, Mapping) else getattr(signals, name, None)
        if not value:
            continue
        signal_type = get_signal_type(name)
        frames: Sequence[Any]
        if isinstance(value, str):
            frames = signal_type.frames(signal_type.normalize(value))
        elif isinstance(value, list | tuple):
            frames = value
        else:
            continue
        floor = max(min_quality, signal_type.frame_quality)
        for f in frames:
            if int(f.quality) < floor:
                continue
            pdq, at = str(f.pdq).lower(), float(f.timestamp)
            if pdq not in first or at < first[pdq]:
                first[pdq] = at
    return sorted(first.items(), key=lambda kv: (kv[1], kv[0]))


def _frame_type() -> str | None:
    return next((n for n, k in SIGNAL_TYPES.items() if k.index == IndexKind.PDQ_MIH), None)


class ContentStore:
    """``content_signals`` in one database; ``clock`` is replaceable for tests."""

    def __init__(
        self,
        db: Database,
        *,
        retention: timedelta = timedelta(days=90),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.retention = retention
        self.clock = clock

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> ContentStore:
        return cls(db, retention=timedelta(days=settings.content_retention_days), clock=clock)

    def remember(
        self,
        content_id: str,
        signals: object,
        *,
        min_quality: int = 0,
        seen_at: datetime | None = None,
    ) -> int:
        """Keep (or refresh) the content's hashes; returns how many rows were added."""
        check_content_id(content_id)
        pairs = content_pairs(signals, min_quality=min_quality)
        rows_wanted: dict[tuple[str, str], float | None] = dict.fromkeys(pairs)
        frame_type = _frame_type()
        if frame_type is not None:
            for pdq, at in content_frames(signals, min_quality=min_quality):
                rows_wanted.setdefault((frame_type, pdq), at)  # a still's own PDQ row stays
        if not rows_wanted:
            return 0
        now = seen_at or self.clock()
        until = now + self.retention
        for attempt in range(2):  # a concurrent first sight of the same content: read again
            try:
                with self.db.transaction() as s:
                    rows = s.scalars(
                        select(ContentSignal).where(ContentSignal.content_id == content_id)
                    ).all()
                    have = {(r.signal_type, r.value): r for r in rows}
                    added = 0
                    for (signal_type, value), seconds in rows_wanted.items():
                        row = have.get((signal_type, value))
                        if row is None:
                            s.add(
                                ContentSignal(
                                    content_id=content_id, signal_type=signal_type, value=value,
                                    first_seen_at=now, last_seen_at=now, expires_at=until,
                                    frame_seconds=seconds,
                                )
                            )  # fmt: skip
                            added += 1
                        else:
                            row.last_seen_at = max(row.last_seen_at, now)
                            row.expires_at = max(row.expires_at, until)
                    return added
            except IntegrityError:
                if attempt:
                    raise
        return 0  # pragma: no cover (the loop returns or raises)

    def remember_many(
        self, items: Iterable[tuple[str, Mapping[str, str]]], *, seen_at: datetime | None = None
    ) -> int:
        """A backfill: many (content id, {type: value}) at once; returns rows added."""
        return sum(self.remember(cid, hashes, seen_at=seen_at) for cid, hashes in items)

    def insert_new(
        self, rows: Iterable[tuple[str, str, str]], *, seen_at: datetime | None = None
    ) -> int:
        """A backfill of content never seen before: (content id, type, canonical value) rows,
        inserted in batches without looking for earlier rows (a repeat is an error)."""
        now = seen_at or self.clock()
        until = now + self.retention
        batch: list[dict[str, Any]] = []
        total = 0

        def flush() -> None:
            with self.db.transaction() as s:
                s.execute(insert(ContentSignal), batch)

        for content_id, signal_type, value in rows:
            batch.append(
                {
                    "content_id": content_id, "signal_type": signal_type, "value": value,
                    "first_seen_at": now, "last_seen_at": now, "expires_at": until,
                }
            )  # fmt: skip
            if len(batch) >= _INSERT_BATCH:
                flush()
                total += len(batch)
                batch = []
        if batch:
            flush()
            total += len(batch)
        return total

    def forget(self, content_id: str) -> int:
        """Delete every stored hash of ``content_id`` (on request); returns how many."""
        check_content_id(content_id)
        with self.db.transaction() as s:
            gone = s.execute(delete(ContentSignal).where(ContentSignal.content_id == content_id))
            return int(getattr(gone, "rowcount", 0) or 0)

    def purge(self, now: datetime | None = None) -> list[int]:
        """Delete the rows past their ``expires_at``, in batches; returns their ids."""
        now = now or self.clock()
        purged: list[int] = []
        while True:
            with self.db.transaction() as s:
                ids = s.scalars(
                    select(ContentSignal.id)
                    .where(ContentSignal.expires_at <= now)
                    .limit(_PURGE_BATCH)
                ).all()
                if not ids:
                    return purged
                s.execute(delete(ContentSignal).where(ContentSignal.id.in_(ids)))
                purged += [int(i) for i in ids]

    def count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(ContentSignal)) or 0)

    def is_empty(self) -> bool:
        with self.db.session() as s:
            return s.scalar(select(ContentSignal.id).limit(1)) is None

    def signals_of(self, content_id: str) -> list[StoredSignal]:
        """What is stored for ``content_id`` (empty once forgotten or purged)."""
        with self.db.session() as s:
            rows = s.scalars(
                select(ContentSignal)
                .where(ContentSignal.content_id == content_id)
                .order_by(ContentSignal.id)
            ).all()
            return [_stored(r) for r in rows]


def _stored(r: ContentSignal) -> StoredSignal:
    return StoredSignal(
        int(r.id), r.content_id, r.signal_type, r.value, r.first_seen_at, r.last_seen_at,
        r.frame_seconds,
    )  # fmt: skip
