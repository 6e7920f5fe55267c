"""The feed one SafeSpace serves another (federation): a bank's changes from its change log.

A reader holds a cursor ``{"seq": S, "after_id": A}``. From nothing (``seq`` 0) the feed
first lists the bank's entries by id (``after_id`` moving on, ``seq`` pinned at the log's end
when the listing began), then follows the change log from there: an entry added or enabled
is an upsert, one removed or disabled a removal. An entry listed and then changed during the
listing appears in both, which applying twice leaves as once. A cursor from before the
log's pruned point cannot be followed: the answer is :class:`~safespace.errors.StaleCheckpoint`
and the reader starts over.

A page comes in one of two encodings: ``entries`` (one JSON object per entry, the first one
served, which every client reads) and ``columns`` (what this SafeSpace's own client asks for
with ``format=columns``: one array per field, ``null`` where an entry has no categories,
opinions or metadata; several times cheaper to build, send and check). Both are read from
the database as plain rows (the ``extra`` column as text, decoded only when not empty), one
query per page.

Each page names the instance serving it (``instance``: :meth:`Database.instance_id
<safespace.store.Database.instance_id>`), and an entry this instance took in from a peer
names where it began (``origin``: ``"<instance id>/<entry id>"``): the peer's instance (kept
in the source's checkpoint) and the entry's id there, or the origin the peer named (kept in
the entry's ``extra``). An entry without one began here. A reader that meets a copy of one
of its own entries (an echo) so knows it, and does not bring back an entry it has removed
since.

Opinions a peer sends on an entry are counted on it (``extra["peer_opinions"]``:
``confirmed`` and ``disputed``); each is counted once however often it is sent again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session

from safespace.banks._bulk import whole_values
from safespace.banks._changelog import pruned_through
from safespace.errors import BankNotFound, InvalidInput, NotFound, StaleCheckpoint
from safespace.exchanges._source import Verdict
from safespace.signals import get_signal_type
from safespace.store import Bank, BankEntry, Change, Database
from safespace.store._models_exchanges import ExchangeSource

__all__ = ["FEED_FORMATS", "FEED_MAX", "Feed", "FeedPage"]

FEED_MAX = 10_000
FEED_FORMATS = ("entries", "columns")
_COLUMNS = (
    BankEntry.id,
    BankEntry.signal_type,
    BankEntry.value,
    BankEntry.category,
    BankEntry.source,
    BankEntry.note,
    cast(BankEntry.extra, Text).label("extra"),
)  # fmt: skip  (rows, not ORM objects; extra as text: most entries' is "{}", left undecoded)
_EMPTY_EXTRA = frozenset({None, "", "{}", "null"})
_SEEN_KEEP = 200  # opinion ids remembered per entry, so a resend counts once


@dataclass(frozen=True)
class FeedPage:
    rows: list[Any]  # entry tuples (the columns of :data:`_COLUMNS`), in the page's order
    whole: dict[int, str]  # whole values of the rows whose value column holds a digest
    removals: list[str]
    cursor: dict[str, int | None]
    more: bool
    instance: str = ""  # the serving instance's id
    peers: Mapping[str, str] = field(default_factory=dict)  # source name -> peer instance

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [_entry(e, self.whole, self.peers) for e in self.rows]

    def to_dict(self, format: str = "entries") -> dict[str, Any]:
        """The page as the feed answers it, in ``format`` (one of :data:`FEED_FORMATS`)."""
        tail = {
            "removals": self.removals,
            "cursor": self.cursor,
            "more": self.more,
            "instance": self.instance,
        }
        if format == "columns":
            return {"columns": self._columns(), **tail}
        return {"entries": self.entries, **tail}

    def _columns(self) -> dict[str, list[Any]]:
        """Column by column (the rows transposed once), each field built the way
        :func:`_fields` builds it for one entry."""
        count = len(self.rows)
        if not count:
            return {name: [] for name in _NAMES}
        ids, types, values, cats, sources, notes, extras = (
            list(c) for c in zip(*self.rows, strict=True)
        )
        if self.whole:
            values = [self.whole.get(i, v) for i, v in zip(ids, values, strict=True)]
        categories: list[list[str] | None] = [None] * count
        if any(cats):
            categories = [([x for x in c.split(",") if x] or None) if c else None for c in cats]
        opinions: list[dict[str, int] | None] = [None] * count
        origins: list[str | None] | None = None
        if not _EMPTY_EXTRA.issuperset(extras):
            for i, extra in enumerate(extras):
                if extra not in _EMPTY_EXTRA:
                    counts, origin = _from_extra(extra, self.peers)
                    opinions[i] = counts or None
                    if origin is not None:
                        if origins is None:
                            origins = [None] * count
                        origins[i] = origin
        metadata: list[dict[str, Any] | None] = [None] * count
        if any(sources) or any(notes):
            for i, (source, note) in enumerate(zip(sources, notes, strict=True)):
                if source or note:
                    metadata[i] = {k: v for k, v in (("source", source), ("note", note)) if v}
        out = {
            "id": ids,
            "signal_type": types,
            "value": values,
            "categories": categories,
            "opinions": opinions,
            "metadata": metadata,
        }
        if origins is not None:  # only when some entry came from a peer
            out["origin"] = origins
        return out


_NAMES = ("id", "signal_type", "value", "categories", "opinions", "metadata")


def _from_extra(extra_text: str, peers: Mapping[str, str]) -> tuple[dict[str, int], str | None]:
    """The opinion counts in an entry's ``extra`` (its own and its peers', added up), and
    where it began when it came from a peer (``peers``: see :func:`_peers`)."""
    extra = dict(json.loads(extra_text) or {})
    opinions = {str(k): int(v) for k, v in dict(extra.get("opinions") or {}).items()}
    for k, v in dict(extra.get("peer_opinions") or {}).items():
        opinions[str(k)] = opinions.get(str(k), 0) + int(v)
    origin = extra.get("origin")
    if isinstance(origin, str):
        return opinions, origin
    source = extra.get("exchange")
    peer = peers.get(source) if isinstance(source, str) else None
    if peer is None or extra.get("upstream_id") is None:
        return opinions, None
    return opinions, f"{peer}/{extra['upstream_id']}"


def _peers(s: Session) -> dict[str, str]:
    """The instance id of each peer this SafeSpace follows (``safespace`` sources), by
    source name, as each source's checkpoint keeps it from the peer's last page."""
    out: dict[str, str] = {}
    for name, checkpoint in s.execute(
        select(ExchangeSource.name, ExchangeSource.checkpoint).where(
            ExchangeSource.type == "safespace"
        )
    ):
        instance = dict(checkpoint or {}).get("instance")
        if isinstance(instance, str):
            out[str(name)] = instance
    return out


def _fields(
    e: Any, peers: Mapping[str, str]
) -> tuple[list[str], dict[str, int], dict[str, Any], str | None]:
    """An entry row's categories, opinion counts, metadata and origin as the feed lists
    them."""
    _, _, _, category, source, note, extra = e
    opinions, origin = _from_extra(extra, peers) if extra not in _EMPTY_EXTRA else ({}, None)
    categories = [c for c in category.split(",") if c] if category else []
    metadata: dict[str, Any] = {}
    if source:
        metadata["source"] = source
    if note:
        metadata["note"] = note
    return categories, opinions, metadata, origin


def _entry(e: Any, whole: dict[int, str], peers: Mapping[str, str]) -> dict[str, Any]:
    """One entry row (the columns of :data:`_COLUMNS`) as the feed lists it."""
    categories, opinions, metadata, origin = _fields(e, peers)
    out = {
        "id": str(e[0]),
        "signal_type": e[1],
        "value": whole.get(e[0], e[2]),
        "categories": categories,
        "opinions": opinions,
        "metadata": metadata,
    }
    if origin is not None:
        out["origin"] = origin
    return out


def _copies(rows: Sequence[Any]) -> bool:
    """Whether any row may be a copy of a peer's entry (has a non-empty ``extra``)."""
    return not _EMPTY_EXTRA.issuperset(e[6] for e in rows)


def _whole(s: Session, rows: Sequence[Any]) -> dict[int, str]:
    """Whole values of the rows whose value column holds a digest."""
    digests = {t for t in {e[1] for e in rows} if get_signal_type(t).digest_stored}
    ids = [e[0] for e in rows if e[1] in digests] if digests else []
    return whole_values(s, ids) if ids else {}


def _listing(s: Session, bank_id: int, after_id: int, limit: int) -> list[Any]:
    """Up to ``limit`` enabled entries of the bank after ``after_id``, by id: one plain query.

    The bank is a filter, not the way in (``bank_id + 0``): the only index starting
    with it is the unique (bank, type, value) one, and walking that meant reading and
    sorting the whole bank for every page (a listing of N entries cost N squared). Walking
    the ids from ``after_id`` reads each row once over the whole listing.
    """
    conn = s.connection()
    sql = (
        "SELECT id, signal_type, value, category, source, note, CAST(extra AS TEXT) AS extra "
        f"FROM {BankEntry.__tablename__} WHERE id > {after_id} AND bank_id + 0 = {bank_id} "
        f"AND enabled = TRUE ORDER BY id LIMIT {int(limit)}"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())  # plain tuples: transposed in C, not row by row
    finally:
        cursor.close()


class Feed:
    """Serves banks' changes and takes peers' opinions, over a database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def page(self, bank: str, seq: int, after_id: int | None, limit: int = 1000) -> FeedPage:
        if not 1 <= limit <= FEED_MAX or seq < 0 or (after_id is not None and after_id < 0):
            raise InvalidInput(f"need seq >= 0, after_id >= 0 and limit 1..{FEED_MAX}")
        with self.db.session() as s:
            bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
            if bank_id is None:
                raise BankNotFound(f"no bank named {bank!r}")
            if seq == 0:  # from nothing: pin the log's end, then list
                seq = int(s.scalar(select(func.coalesce(func.max(Change.seq), 0))) or 0)
                after_id = 0
            elif seq < pruned_through(s):
                raise StaleCheckpoint(
                    f"changes after {seq} were pruned from this server's log: start over"
                )
            if after_id is not None:
                rows = _listing(s, int(bank_id), int(after_id), limit)
                more = len(rows) == limit
                last = rows[-1][0] if rows else after_id
                return FeedPage(
                    list(rows),
                    _whole(s, rows),
                    [],
                    {"seq": seq, "after_id": last if more else None},
                    True,  # the log follows the listing
                    self.db.instance_id(),
                    _peers(s) if _copies(rows) else {},
                )
            changes = s.execute(
                select(Change.seq, Change.entry_id, Change.op)
                .where(
                    Change.bank_id == bank_id,
                    Change.seq > seq,
                    Change.op.in_(("add", "enable", "disable", "remove")),
                )
                .order_by(Change.seq)
                .limit(limit)
            ).all()
            more = len(changes) == limit
            next_seq = int(changes[-1][0]) if changes else seq
            latest: dict[int, str] = {}
            for _, entry_id, op in changes:
                if entry_id is not None:
                    latest.pop(int(entry_id), None)
                    latest[int(entry_id)] = op
            wanted = [i for i, op in latest.items() if op in ("add", "enable")]
            found = {
                e[0]: tuple(e)
                for e in s.execute(
                    select(*_COLUMNS).where(BankEntry.id.in_(wanted), BankEntry.enabled.is_(True))
                )
            } if wanted else {}  # fmt: skip
            rows = [found[i] for i in wanted if i in found]
            removals = [str(i) for i, op in latest.items() if i not in found]
            return FeedPage(
                rows,
                _whole(s, rows),
                removals,
                {"seq": next_seq, "after_id": None},
                more,
                self.db.instance_id(),
                _peers(s) if _copies(rows) else {},
            )

    def opinion(
        self,
        bank: str,
        upstream_id: str,
        signal_type: str,
        value: str,
        verdict: str,
        *,
        opinion_id: str,
        decided_at: datetime | None = None,
    ) -> dict[str, int]:
        """Count a peer's opinion on entry ``upstream_id`` of ``bank``; returns the counts."""
        try:
            entry_id = int(upstream_id)
            kind = Verdict(verdict)
        except ValueError:
            raise InvalidInput("upstream_id must be an entry id, verdict one of "
                               "confirmed, false_positive") from None  # fmt: skip
        canonical_type = get_signal_type(signal_type)
        stored = canonical_type.stored_value(canonical_type.normalize(value))
        key = "confirmed" if kind is Verdict.CONFIRMED else "disputed"
        with self.db.transaction() as s:
            row = s.execute(
                select(BankEntry)
                .join(Bank, Bank.id == BankEntry.bank_id)
                .where(Bank.name == bank, BankEntry.id == entry_id)
            ).scalar_one_or_none()
            if row is None or (row.signal_type, row.value) != (canonical_type.name, stored):
                raise NotFound(f"bank {bank!r} has no entry {upstream_id} with that hash")
            extra = dict(row.extra or {})
            counts = {str(k): int(v) for k, v in dict(extra.get("peer_opinions") or {}).items()}
            seen = [str(x) for x in extra.get("peer_opinion_ids") or []]
            if opinion_id not in seen:
                counts[key] = counts.get(key, 0) + 1
                seen = [*seen, opinion_id][-_SEEN_KEEP:]
                extra["peer_opinions"] = counts
                extra["peer_opinion_ids"] = seen
                s.execute(update(BankEntry).where(BankEntry.id == row.id).values(extra=extra))
            return counts
