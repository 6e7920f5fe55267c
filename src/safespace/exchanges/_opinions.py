"""Opinions go back: a reviewer's verdict on a match reaches the source the entry came from.

:func:`queue_opinions` is called by the review queue inside the transaction that records a
final decision: for every source that listed the matched bank entry and takes opinions, one
``exchange_opinions`` row (an outbox) is written, so a decision and its opinions commit
together or not at all. :class:`OpinionOutbox` sends pending rows through the source's
``send_opinion`` (run by the once-per-cluster ``exchange-opinions`` task): a row sent is
``sent``; a failure is recorded and retried later, the wait doubling from ``base_delay`` up
to ``max_delay``; after ``max_attempts`` failures the row is ``rejected`` and stays visible on
the review item with its last error. Verdicts map to each source's own words there
(NCMEC: an upvote, or a downvote with a reason; StopNCII: Blocked or NotBlocked; a peer
SafeSpace: the verdict itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safespace.errors import InvalidInput, SafeSpaceError, SourceNotFound
from safespace.exchanges._registry import get_source_type
from safespace.exchanges._source import Opinion, Verdict
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource
from safespace.store._models_opinions import ExchangeOpinion

__all__ = [
    "DECISION_VERDICTS",
    "DeliveryReport",
    "OpinionOutbox",
    "OpinionState",
    "opinions_of_item",
    "queue_opinions",
]

log = logging.getLogger("safespace.exchanges.opinions")

DECISION_VERDICTS = {"confirm": Verdict.CONFIRMED, "false-positive": Verdict.FALSE_POSITIVE}
"""A review decision's kind -> the verdict sent to sources (escalations send nothing)."""

Sender = Callable[[str, Opinion], None]


def _takes_opinions(source_type: str) -> bool:
    try:
        return get_source_type(source_type).supports_opinions
    except (InvalidInput, ModuleNotFoundError):
        return False


def queue_opinions(
    s: Session,
    *,
    item_id: int,
    entry_id: int | None,
    decision: str,
    signal_type: str | None,
    value: str | None,
    reason: str | None,
    now: datetime,
) -> int:
    """Queue the opinions a final decision owes, in the caller's transaction; how many.

    Nothing is queued for an escalation, an item without a matched entry, or an entry no
    source listed; a source type that takes no opinions is left out.
    """
    verdict = DECISION_VERDICTS.get(decision)
    if verdict is None or entry_id is None or not signal_type or not value:
        return 0
    rows = s.execute(
        select(ExchangeSource.id, ExchangeSource.type, ExchangeEntry.upstream_id)
        .join(ExchangeSource, ExchangeSource.id == ExchangeEntry.source_id)
        .where(ExchangeEntry.entry_id == entry_id)
        .order_by(ExchangeSource.id, ExchangeEntry.upstream_id)
    ).all()
    queued = 0
    for source_id, source_type, upstream_id in rows:
        if not _takes_opinions(source_type):
            continue
        known = s.scalar(
            select(ExchangeOpinion.id).where(
                ExchangeOpinion.item_id == item_id,
                ExchangeOpinion.source_id == source_id,
                ExchangeOpinion.upstream_id == upstream_id,
            )
        )
        if known is not None:
            continue
        s.add(
            ExchangeOpinion(
                item_id=item_id, source_id=source_id, upstream_id=upstream_id,
                signal_type=signal_type, value=value, verdict=verdict.value, reason=reason,
                decided_at=now, status="pending", attempts=0, next_attempt_at=now,
                created_at=now,
            )
        )  # fmt: skip
        queued += 1
    return queued


@dataclass(frozen=True)
class OpinionState:
    """One queued opinion as a reviewer sees it on the item."""

    id: int
    source: str
    source_type: str
    upstream_id: str
    verdict: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        def when(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat().replace("+00:00", "Z")

        return {
            "source": self.source,
            "source_type": self.source_type,
            "upstream_id": self.upstream_id,
            "verdict": self.verdict,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt_at": when(self.next_attempt_at if self.status == "pending" else None),
            "sent_at": when(self.sent_at),
        }


def opinions_of_item(db: Database, item_id: int) -> list[OpinionState]:
    """The opinions a review item's decision queued, and how sending each went."""
    with db.session() as s:
        rows = s.execute(
            select(ExchangeOpinion, ExchangeSource.name, ExchangeSource.type)
            .join(ExchangeSource, ExchangeSource.id == ExchangeOpinion.source_id)
            .where(ExchangeOpinion.item_id == item_id)
            .order_by(ExchangeOpinion.id)
        ).all()
        return [_state(o, name, kind) for o, name, kind in rows]


def _state(o: ExchangeOpinion, name: str, kind: str) -> OpinionState:
    return OpinionState(
        o.id, name, kind, o.upstream_id, o.verdict, o.status, o.attempts,
        o.last_error, o.next_attempt_at, o.sent_at,
    )  # fmt: skip


def _opinion(o: ExchangeOpinion) -> Opinion:
    return Opinion(
        o.upstream_id, o.signal_type, o.value, Verdict(o.verdict), o.reason, o.decided_at
    )


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    rejected: int = 0


class OpinionOutbox:
    """Sends due opinions with ``send(source_name, opinion)``; ``clock`` is replaceable."""

    def __init__(
        self,
        db: Database,
        send: Sender,
        clock: Callable[[], datetime] = utcnow,
        *,
        base_delay: timedelta = timedelta(seconds=30),
        max_delay: timedelta = timedelta(hours=6),
        max_attempts: int = 20,
        batch: int = 100,
    ) -> None:
        self.db, self.send, self.clock = db, send, clock
        self.base_delay, self.max_delay = base_delay, max_delay
        self.max_attempts, self.batch = max_attempts, batch

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failure (1, 2, ...)."""
        factor: int = 2 ** min(max(attempts - 1, 0), 30)
        wait: timedelta = self.base_delay * factor
        return wait if wait < self.max_delay else self.max_delay

    def pending(self) -> int:
        with self.db.session() as s:
            rows = s.scalars(
                select(ExchangeOpinion.id).where(ExchangeOpinion.status == "pending")
            ).all()
            return len(rows)

    def deliver_due(self) -> DeliveryReport:
        """Send every pending opinion whose time has come (at most ``batch``)."""
        now = self.clock()
        with self.db.session() as s:
            due = s.execute(
                select(ExchangeOpinion, ExchangeSource.name)
                .join(ExchangeSource, ExchangeSource.id == ExchangeOpinion.source_id)
                .where(ExchangeOpinion.status == "pending", ExchangeOpinion.next_attempt_at <= now)
                .order_by(ExchangeOpinion.next_attempt_at, ExchangeOpinion.id)
                .limit(self.batch)
            ).all()
            work = [(o.id, o.attempts, name, _opinion(o)) for o, name in due]
        sent = retrying = rejected = 0
        failed_sources: dict[str, str] = {}
        for opinion_id, attempts, source, opinion in work:
            error = failed_sources.get(source)  # one source down: its others wait too
            if error is None:
                try:
                    self.send(source, opinion)
                except SourceNotFound:
                    continue  # removed since: its rows went with it
                except (SafeSpaceError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    failed_sources[source] = error
            done = self.clock()
            values: dict[str, Any] = {"attempts": attempts + 1}
            if error is None:
                values |= {"status": "sent", "sent_at": done, "last_error": None}
                sent += 1
            elif attempts + 1 >= self.max_attempts:
                values |= {"status": "rejected", "last_error": error[:2000]}
                rejected += 1
                log.warning("opinion %s for %s given up: %s", opinion_id, source, error)
            else:
                values |= {"last_error": error[:2000]}
                values["next_attempt_at"] = done + self.delay(attempts + 1)
                retrying += 1
            with self.db.transaction() as s:
                s.execute(
                    update(ExchangeOpinion)
                    .where(ExchangeOpinion.id == opinion_id, ExchangeOpinion.status == "pending")
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        return DeliveryReport(sent, retrying, rejected)

    def retry_now(self, item_id: int) -> int:
        """Make the item's unsent opinions (pending or rejected) due now; how many."""
        now = self.clock()
        with self.db.transaction() as s:
            result = s.execute(
                update(ExchangeOpinion)
                .where(ExchangeOpinion.item_id == item_id, ExchangeOpinion.status != "sent")
                .values(status="pending", next_attempt_at=now, attempts=0)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)
