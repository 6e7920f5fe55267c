"""The review queue: what reviewers look at, in which order, who holds it, what they decided.

Items come from match events (``/v1/match`` with a ``content_id``), self-reports and user
reports a platform sends (``POST /v1/reports``). They are ordered by severity (bank category
A or A1 first, then self-reports, then A2/B/B1/B2, then C, then the rest) and then by age.
A claim is one conditional UPDATE, so two reviewers never hold the same item. Every decision
needs a reason and is audited in its own transaction; with a second look required, a
decision is final only once a different lead or admin has decided too. Final decisions act:
a false positive puts the content's hashes in an allow bank, a confirmation queues signed
webhook actions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from safespace.accounts import role_allows
from safespace.banks import BankService
from safespace.banks import _bulk as bulk
from safespace.banks.formats._base import HashRecord
from safespace.config import Settings
from safespace.errors import AccessDenied, BankExists, ConfigError, Conflict, InvalidInput, NotFound
from safespace.reports import _audit as audit
from safespace.reports._queue_feeds import (
    MAX_REASON,
    OPEN_STATUSES,
    QueueFeeds,
    UserReport,
    priority_for,
)
from safespace.reports._queue_video import VideoInfo, split_hashes
from safespace.reports._referrals import (
    INDUSTRY_CLASSIFICATIONS as INDUSTRY,
)
from safespace.reports._referrals import (
    ConfirmedCase,
    ReportedUser,
    Reporter,
    build_cybertip_report,
    build_json_referral,
)
from safespace.reports._sealing import MediaSealer, open_media
from safespace.reports._webhooks import WebhookService
from safespace.signals import SIGNAL_TYPES
from safespace.store import Bank, Database, SelfReportCase
from safespace.store._models import utcnow
from safespace.store._models_queue import (
    DECISION_KINDS,
    ReviewDecision,
    ReviewItem,
    ReviewMedia,
)

__all__ = [
    "BULK_ACTIONS",
    "CATEGORIES",
    "FALSE_POSITIVE_BANK",
    "MAX_BULK",
    "OPEN_STATUSES",
    "QUEUE_SORTS",
    "QUEUE_VIEWS",
    "WEBHOOK_ENDPOINT",
    "BulkResult",
    "CaseInfo",
    "DecisionInfo",
    "QueueFilter",
    "QueueItem",
    "ReviewPolicy",
    "ReviewQueue",
    "UserReport",
    "adjacent_items",
    "bulk_action",
    "claim_next_filtered",
    "count_filtered",
    "filter_choices",
    "item_stamp",
    "list_filtered",
    "parse_selection",
    "priority_for",
    "view_counts",
]

# ConfirmedCase's fields named after signal types (the hashes a referral carries).
_CASE_HASH_FIELDS = frozenset(f.name for f in fields(ConfirmedCase) if f.init) & set(SIGNAL_TYPES)
# Types a false positive may allow: a text match (a listed URL, a keyword) is about one post,
# which has no hash of its own; allowing the entry's value would silence it in every post.
_ALLOWABLE = frozenset(k.name for k in SIGNAL_TYPES.values() if k.text_source is None)

CATEGORIES = ("A", "B", "C", "A1", "A2", "B1", "B2")
FALSE_POSITIVE_BANK = "false-positives"
WEBHOOK_ENDPOINT = "review"


@dataclass(frozen=True)
class ReviewPolicy:
    """The operator's choices (``SAFESPACE_REVIEW_*``)."""

    claim_minutes: int = 30
    second_look: bool = False
    store_media: bool = False
    webhook_url: str = ""
    webhook_secret: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewPolicy:
        secret = settings.review_webhook_secret
        text = secret.get_secret_value() if secret is not None else None
        url = settings.review_webhook_url.strip()
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError("SAFESPACE_REVIEW_WEBHOOK_URL must be an http(s) URL")
        if url and (text is None or len(text) < 32):
            raise ConfigError(
                "SAFESPACE_REVIEW_WEBHOOK_SECRET must be at least 32 characters when "
                "SAFESPACE_REVIEW_WEBHOOK_URL is set"
            )
        return cls(
            claim_minutes=settings.review_claim_minutes,
            second_look=settings.review_second_look,
            store_media=settings.review_store_media,
            webhook_url=url,
            webhook_secret=text,
        )


@dataclass(frozen=True)
class QueueItem:
    id: int
    source: str
    status: str
    priority: int
    content_id: str | None
    account_id: str | None
    urls: tuple[str, ...]
    reason: str | None
    reports: int
    bank: str | None
    entry_id: int | None
    signal_type: str | None
    matched_value: str | None
    distance: int | None
    category: str | None
    hashes: Mapping[str, str]
    self_report_case_id: int | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    decision: str | None
    decision_category: str | None
    decided_by: str | None
    final_at: datetime | None
    created_at: datetime
    media_type: str | None
    video: VideoInfo | None = None  # a matched video: ranges, percentages, thumbnail times
    # Text matches: event id, signal type, listed expression, start, end (never the text).
    text_spans: tuple[Mapping[str, Any], ...] = ()

    def claimed(self, now: datetime) -> str | None:
        """Who holds the item now (None when free or the claim ran out)."""
        if self.claimed_by and self.claim_expires_at and self.claim_expires_at > now:
            return self.claimed_by
        return None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["urls"], out["hashes"] = list(self.urls), dict(self.hashes)
        out["text_spans"] = [dict(span) for span in self.text_spans]
        out["video"] = self.video.to_dict() if self.video is not None else None
        for k in ("claim_expires_at", "final_at", "created_at"):
            out[k] = None if out[k] is None else out[k].isoformat().replace("+00:00", "Z")
        return out


@dataclass(frozen=True)
class DecisionInfo:
    actor: str
    role: str
    kind: str
    category: str | None
    reason: str
    final: bool
    at: datetime


@dataclass(frozen=True)
class CaseInfo:
    """The self-report an item belongs to: what the young person told us, and every item of
    the case (``items``: id, status, content id; the self-report's own item has no content
    id, a re-upload has the platform's)."""

    case_number: str
    status: str
    age_band: str
    seen_at_urls: tuple[str, ...]
    items: tuple[tuple[int, str, str | None], ...]


def _info(row: ReviewItem, media_type: str | None) -> QueueItem:
    hashes, video = split_hashes(row.hashes)  # a matched video's details sit beside them
    return QueueItem(
        row.id, row.source, row.status, row.priority, row.content_id, row.account_id,
        tuple(row.urls or ()), row.reason, row.reports, row.bank, row.entry_id, row.signal_type,
        row.matched_value, row.distance, row.category, hashes,
        row.self_report_case_id, row.claimed_by, row.claim_expires_at, row.decision,
        row.decision_category, row.decided_by, row.final_at, row.created_at, media_type, video,
        tuple(row.text_spans or ()),
    )  # fmt: skip


def text_matches(item: QueueItem) -> list[dict[str, Any]]:
    """An item's text matches for a webhook or a referral: the signal type, the listed
    expression and the span offsets; never the text, never an excerpt."""
    keys = ("signal_type", "expression", "start", "end")
    return [{k: span.get(k) for k in keys} for span in item.text_spans]


def _span_notes(item: QueueItem) -> str:
    found = [
        f" {t['signal_type']} {t['expression']} at characters {t['start']}-{t['end']}."
        for t in text_matches(item)
    ]
    return (" Text matches (the post's text is not kept):" + "".join(found)) if found else ""


def _queue_opinions(s: Session, item: QueueItem, kind: str, reason: str, now: datetime) -> int:
    """Opinions for the bank sources that listed the matched entry, in the decision's
    transaction (imported here: safespace.exchanges sits beside reports, not below it)."""
    from safespace.exchanges._opinions import queue_opinions

    return queue_opinions(
        s, item_id=item.id, entry_id=item.entry_id, decision=kind,
        signal_type=item.signal_type, value=item.matched_value, reason=reason, now=now,
    )  # fmt: skip


def _open_where(open_only: bool) -> ColumnElement[bool]:
    if open_only:
        return ReviewItem.status.in_(OPEN_STATUSES)
    return ReviewItem.status.not_in(OPEN_STATUSES)


class ReviewQueue:
    """The queue over a database; ``clock`` is replaceable for tests.

    Its :class:`~safespace.reports._queue_feeds.QueueFeeds` (``feeds``) turns match events,
    self-reports and user reports into items; :meth:`sync` and :meth:`report` hand over to
    it what it needs from the queue at the time of the call (clock, sealer, policy).
    """

    def __init__(
        self,
        db: Database,
        policy: ReviewPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
        *,
        sealer: MediaSealer | None = None,
        webhooks: WebhookService | None = None,
    ) -> None:
        self.db = db
        self.policy = policy or ReviewPolicy()
        self.clock = clock
        self.sealer = sealer  # None: no media is kept (never in plaintext)
        self.webhooks = webhooks or WebhookService(db)
        self.feeds = QueueFeeds(db, clock=self._now)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> ReviewQueue:
        """ConfigError when review media is kept without a usable key, or a key is unusable."""
        return cls(
            db,
            ReviewPolicy.from_settings(settings),
            sealer=MediaSealer.from_settings(settings),
            webhooks=WebhookService.from_settings(db, settings),
        )

    def _now(self) -> datetime:
        return self.clock()  # read at each call: tests replace a queue's clock

    # --- feeds ---------------------------------------------------------------------------

    def sync(self) -> int:
        """Turn new match events and self-reports into items; returns how many were made."""
        return self.feeds.sync(endpoint=self._endpoint)

    def report(self, report: UserReport) -> tuple[QueueItem, bool]:
        """A platform's user report; returns the item and whether it is new."""
        return self.feeds.report(
            report, load=self._load, sealer=self.sealer, store_media=self.policy.store_media
        )

    # --- reading -------------------------------------------------------------------------

    def _load(self, s: Session, item_id: int) -> QueueItem:
        row = s.get(ReviewItem, item_id)
        if row is None:
            raise NotFound(f"no review item {item_id}")
        media = s.scalar(select(ReviewMedia.media_type).where(ReviewMedia.item_id == item_id))
        return _info(row, media)

    def get(self, item_id: int) -> QueueItem:
        with self.db.session() as s:
            return self._load(s, item_id)

    def count_items(self, *, open_only: bool = True) -> int:
        """How many items are open (or decided): what :meth:`list_items` pages through."""
        where = _open_where(open_only)
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(ReviewItem).where(where)) or 0)

    def list_items(
        self, *, open_only: bool = True, limit: int = 100, offset: int = 0
    ) -> list[QueueItem]:
        """Open items by priority then age; or decided ones, newest first."""
        order: tuple[Any, ...]
        if open_only:
            where = ReviewItem.status.in_(OPEN_STATUSES)
            order = (ReviewItem.priority, ReviewItem.created_at, ReviewItem.id)
        else:
            where = ReviewItem.status.not_in(OPEN_STATUSES)
            order = (ReviewItem.final_at.desc(), ReviewItem.id.desc())
        with self.db.session() as s:
            query = select(ReviewItem).where(where).order_by(*order).limit(limit).offset(offset)
            return [_info(r, None) for r in s.scalars(query)]

    def case(self, item_id: int) -> CaseInfo | None:
        """The self-report case the item is part of (its own item or a re-upload), if any."""
        with self.db.session() as s:
            row = s.get(ReviewItem, item_id)
            if row is None:
                raise NotFound(f"no review item {item_id}")
            if row.self_report_case_id is None:
                return None
            case = s.get(SelfReportCase, row.self_report_case_id)
            if case is None:
                return None
            items = s.execute(
                select(ReviewItem.id, ReviewItem.status, ReviewItem.content_id)
                .where(ReviewItem.self_report_case_id == case.id)
                .order_by(ReviewItem.id)
            ).all()
            return CaseInfo(
                case.case_number,
                case.status,
                case.age_band,
                tuple(case.seen_at_urls or ()),
                tuple((i, st, c) for i, st, c in items),
            )

    def media(self, item_id: int) -> tuple[str, bytes] | None:
        """The stored file, unsealed (legacy rows without a wrapped key are plaintext)."""
        with self.db.session() as s:
            row = s.get(ReviewMedia, item_id)
            if row is None:
                return None
            return row.media_type, open_media(self.sealer, row)

    def decisions(self, item_id: int) -> list[DecisionInfo]:
        with self.db.session() as s:
            rows = s.scalars(
                select(ReviewDecision)
                .where(ReviewDecision.item_id == item_id)
                .order_by(ReviewDecision.id)
            )
            return [
                DecisionInfo(r.actor, r.role, r.kind, r.category, r.reason, r.final, r.at)
                for r in rows
            ]

    def action_ids(self, item_id: int) -> list[int]:
        from safespace.store._models_reports import WebhookAction

        with self.db.session() as s:
            return list(
                s.scalars(
                    select(WebhookAction.id)
                    .where(WebhookAction.case_id == f"review-{item_id}")
                    .order_by(WebhookAction.id)
                )
            )

    # --- claims --------------------------------------------------------------------------

    def _may_take(self, row: QueueItem, actor: str, role: str) -> None:
        if row.status not in OPEN_STATUSES:
            raise Conflict(f"item {row.id} is already decided ({row.status})")
        if row.status in ("escalated", "second-look") and not role_allows(role, "lead"):
            raise AccessDenied(f"item {row.id} is waiting for a lead ({row.status})")
        if row.status == "second-look" and row.decided_by == actor:
            raise AccessDenied("a second look must be taken by someone else")

    def claim(self, item_id: int, actor: str, role: str) -> QueueItem:
        """Take the item for ``claim_minutes``; Conflict when someone else holds it."""
        now = self.clock()
        with self.db.transaction() as s:
            item = self._load(s, item_id)
            self._may_take(item, actor, role)
            result = s.execute(
                update(ReviewItem)
                .where(
                    ReviewItem.id == item_id,
                    ReviewItem.status.in_(OPEN_STATUSES),
                    or_(
                        ReviewItem.claimed_by.is_(None),
                        ReviewItem.claimed_by == actor,
                        ReviewItem.claim_expires_at <= now,
                    ),
                )
                .values(
                    claimed_by=actor,
                    claim_expires_at=now + timedelta(minutes=self.policy.claim_minutes),
                )
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount != 1:
                holder = item.claimed(now) or "another reviewer"
                raise Conflict(f"item {item_id} is being reviewed by {holder}")
            if item.claimed(now) != actor:  # a new claim, not the holder's renewal
                audit.append(s, f"user:{actor}", "case.claim", f"review:{item_id}", {}, at=now)
            s.expire_all()
            return self._load(s, item_id)

    def claim_next(self, actor: str, role: str) -> QueueItem | None:
        """The most urgent item this person may take, claimed; None when there is none."""
        now = self.clock()
        with self.db.session() as s:
            ids = s.scalars(
                select(ReviewItem.id)
                .where(
                    ReviewItem.status.in_(OPEN_STATUSES),
                    or_(ReviewItem.claimed_by.is_(None), ReviewItem.claim_expires_at <= now),
                )
                .order_by(ReviewItem.priority, ReviewItem.created_at, ReviewItem.id)
                .limit(50)
            ).all()
        for item_id in ids:
            with suppress(Conflict, AccessDenied):
                return self.claim(item_id, actor, role)
        return None

    def release(self, item_id: int, actor: str) -> None:
        with self.db.transaction() as s:
            s.execute(
                update(ReviewItem)
                .where(ReviewItem.id == item_id, ReviewItem.claimed_by == actor)
                .values(claimed_by=None, claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )

    # --- decisions -----------------------------------------------------------------------

    def decide(
        self,
        item_id: int,
        actor: str,
        role: str,
        kind: str,
        reason: str,
        category: str | None = None,
    ) -> QueueItem:
        """Record a decision by the claim's holder; final (and acted on) when policy allows."""
        if kind not in DECISION_KINDS:
            raise InvalidInput(f"decision must be one of {', '.join(DECISION_KINDS)}")
        reason = (reason or "").strip()
        if not 3 <= len(reason) <= MAX_REASON:
            raise InvalidInput(f"every decision needs a reason (3..{MAX_REASON} characters)")
        category = (category or "").strip().upper() or None
        if kind == "confirm" and category not in CATEGORIES:
            raise InvalidInput(f"a confirmation needs a category: {', '.join(CATEGORIES)}")
        if kind != "confirm":
            category = None
        if kind == "false-positive":
            self._ensure_allow_bank()
        now = self.clock()
        with self.db.transaction() as s:
            item = self._load(s, item_id)
            self._may_take(item, actor, role)
            if item.claimed(now) != actor:
                raise Conflict(f"claim item {item_id} before deciding it")
            row = s.get(ReviewItem, item_id)
            assert row is not None
            final = kind != "escalate" and (
                not self.policy.second_look or item.status == "second-look"
            )
            if kind == "escalate" and item.status == "escalated":
                raise InvalidInput("this item is already escalated: confirm it or clear it")
            s.add(
                ReviewDecision(
                    item_id=item_id, actor=actor, role=role, kind=kind, category=category,
                    reason=reason, final=final, at=now,
                )
            )  # fmt: skip
            details: dict[str, Any] = {"decision": kind, "category": category, "final": final}
            details["stage"] = "second-look" if item.status == "second-look" else "first"
            details["reason"] = reason
            row.claimed_by, row.claim_expires_at, row.updated_at = None, None, now
            if kind == "escalate":
                row.status = "escalated"
            elif not final:
                row.status, row.decision, row.decision_category = "second-look", kind, category
                row.decided_by = actor
            else:
                row.status = "confirmed" if kind == "confirm" else "false-positive"
                row.decision, row.decision_category, row.decided_by = kind, category, actor
                row.final_at = now
                s.execute(delete(ReviewMedia).where(ReviewMedia.item_id == item_id))
                if kind == "false-positive":
                    details["allowed_hashes"] = self._allow(s, item, actor, now)
                else:
                    details["actions"] = self._act(s, item, category, actor, now)
                    if item.self_report_case_id is not None:
                        done = self._confirm_case(s, item, actor, role, category, reason, now)
                        details["with_items"] = done
            opinions = _queue_opinions(s, item, kind, reason, now) if final else 0
            if opinions:  # queued for the sources the matched entry came from
                details["opinions"] = opinions
            audit.append(s, f"user:{actor}", "case.decision", f"review:{item_id}", details, at=now)
            s.flush()
            return self._load(s, item_id)

    def _confirm_case(
        self,
        s: Session,
        item: QueueItem,
        actor: str,
        role: str,
        category: str | None,
        reason: str,
        now: datetime,
    ) -> list[int]:
        """One case, one decision: confirming an item of a self-report case confirms the
        case's other open items that are the same image (the self-report's own item, and
        re-uploads matched exactly), each with its own decision, actions and audit record.
        A near match stays open for its own look."""
        rows = s.scalars(
            select(ReviewItem)
            .where(
                ReviewItem.self_report_case_id == item.self_report_case_id,
                ReviewItem.id != item.id,
                ReviewItem.status.in_(OPEN_STATUSES),
                or_(ReviewItem.source == "self-report", ReviewItem.distance == 0),
            )
            .order_by(ReviewItem.id)
        ).all()
        text = f"With item {item.id}: {reason}"[:MAX_REASON]
        for row in rows:
            s.add(
                ReviewDecision(
                    item_id=row.id, actor=actor, role=role, kind="confirm", category=category,
                    reason=text, final=True, at=now,
                )
            )  # fmt: skip
            row.status, row.decision, row.decision_category = "confirmed", "confirm", category
            row.decided_by, row.final_at, row.updated_at = actor, now, now
            row.claimed_by, row.claim_expires_at = None, None
            s.execute(delete(ReviewMedia).where(ReviewMedia.item_id == row.id))
            details: dict[str, Any] = {"decision": "confirm", "category": category}
            details |= {"final": True, "stage": "with-item", "with_item": item.id}
            details["reason"] = text
            details["actions"] = self._act(s, _info(row, None), category, actor, now)
            audit.append(s, f"user:{actor}", "case.decision", f"review:{row.id}", details, at=now)
        return [row.id for row in rows]

    def _ensure_allow_bank(self) -> None:
        with self.db.session() as s:
            if s.scalar(select(Bank.id).where(Bank.name == FALSE_POSITIVE_BANK)) is not None:
                return
        with suppress(BankExists):
            BankService(self.db).create_bank(
                FALSE_POSITIVE_BANK,
                kind="allow",
                description="Review queue: hashes reviewers found to be false positives",
            )

    @staticmethod
    def _content_hashes(item: QueueItem) -> dict[str, str]:
        """The content's own hashes: sent with a report, recorded with a match event (the
        caller's hash, near matches included), or the entry's value on an exact match."""
        found = {k: v for k, v in item.hashes.items() if k in _ALLOWABLE and v}
        if item.signal_type in _ALLOWABLE and item.matched_value and item.distance == 0:
            found.setdefault(item.signal_type, item.matched_value)
        return found

    def _allow(self, s: Session, item: QueueItem, actor: str, now: datetime) -> int:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == FALSE_POSITIVE_BANK))
        hashes = self._content_hashes(item)
        if bank_id is None or not hashes:
            return 0
        extra = {"review_item": str(item.id), "reviewer": actor}
        records = [
            HashRecord(k, v, "review", "false-positive", None, now, extra)
            for k, v in sorted(hashes.items())
        ]
        return bulk.add_records(s, bank_id, records).added

    def _endpoint(self, s: Session) -> bool:
        """The configured endpoint, up to date; its secret stays in the settings (the row
        keeps a verifier) and is handed to the delivery service."""
        url, secret = self.policy.webhook_url, self.policy.webhook_secret
        if not url or not secret:
            return False
        self.webhooks.use_configured(s, WEBHOOK_ENDPOINT, url, secret)
        return True

    def _act(
        self, s: Session, item: QueueItem, category: str | None, actor: str, now: datetime
    ) -> list[str]:
        if item.self_report_case_id is not None:
            case = s.get(SelfReportCase, item.self_report_case_id)
            if case is not None and case.status != "withdrawn":
                case.status, case.updated_at = "actioned", now
        if not self._endpoint(s):
            return []
        case_id = f"review-{item.id}"
        base = {"review_item": item.id, "category": category}
        wanted: list[tuple[str, dict[str, Any]]] = []
        if item.content_id:
            target: dict[str, Any] = {
                "content_id": item.content_id, **base, "urls": list(item.urls)
            }  # fmt: skip
            if item.text_spans:  # where the post matched: expression and span, no text
                target["text_matches"] = text_matches(item)
            wanted += [("take_down_content", target), ("preserve_evidence", target)]
        if item.account_id:
            wanted.append(("restrict_account", {"account_id": item.account_id, **base}))
        for kind, target in wanted:
            self.webhooks.enqueue(
                s, WEBHOOK_ENDPOINT, kind, target, actor=f"user:{actor}", case_id=case_id, now=now
            )
        return [k for k, _ in wanted]

    # --- referrals -----------------------------------------------------------------------

    def confirmed_case(self, item_id: int) -> ConfirmedCase:
        """What a hotline referral is built from; only for a confirmed item."""
        item = self.get(item_id)
        if item.status != "confirmed" or item.final_at is None:
            raise Conflict(f"item {item_id} is not confirmed: there is nothing to refer")
        hashes = {k: v for k, v in item.hashes.items() if k in SIGNAL_TYPES}
        if item.signal_type and item.matched_value and not item.text_spans:
            hashes.setdefault(item.signal_type, item.matched_value)
        notes = f"SafeSpace review item {item.id} ({item.source})."
        if item.bank:
            notes += f" Matched bank {item.bank} entry {item.entry_id} ({item.signal_type}"
            notes += f" at distance {item.distance}), list category {item.category or 'none'}."
        klass = item.decision_category if item.decision_category in INDUSTRY else None
        return ConfirmedCase(
            case_id=f"review-{item.id}",
            content_id=item.content_id or f"self-report-{item.self_report_case_id}",
            confirmed_at=item.final_at,
            reviewer=item.decided_by or "",
            category=klass,
            incident_at=item.created_at,
            urls=item.urls,
            **{k: v for k, v in hashes.items() if k in _CASE_HASH_FIELDS},  # type: ignore[arg-type]
            reported_user=ReportedUser(esp_identifier=item.account_id) if item.account_id else None,
            notes=notes + _span_notes(item),
            text_matches=tuple(text_matches(item)),
        )

    def export_referral(
        self, item_id: int, fmt: str, actor: str, reporter: Reporter
    ) -> tuple[bytes, str]:
        """The referral document (``xml``: CyberTipline, validated; ``json``), audited."""
        if fmt not in ("xml", "json"):
            raise InvalidInput("format must be xml or json")
        case = self.confirmed_case(item_id)
        if fmt == "xml":
            body, media_type = build_cybertip_report(case, reporter), "application/xml"
        else:
            referral = build_json_referral(case, reporter)
            body, media_type = json.dumps(referral, indent=2).encode(), "application/json"
        with self.db.transaction() as s:
            audit.append(s, actor, "referral.export", f"review:{item_id}", {"format": fmt})
        return body, media_type

    def counts(self) -> dict[str, int]:
        with self.db.session() as s:
            rows = s.execute(select(ReviewItem.status, func.count()).group_by(ReviewItem.status))
            return {row[0]: int(row[1]) for row in rows}


# --- a queue of thousands: filters, search, sorting, adjacent items, bulk actions ---------
# Module functions over a ReviewQueue (the console's queue page calls them); appended here
# so the class above keeps its shape.

QUEUE_SORTS = ("priority", "oldest", "newest", "bank")
QUEUE_VIEWS = ("escalations", "retro")
MAX_OLDER_THAN_HOURS = 24 * 366
_FILTER_KEYS = ("source", "bank", "category", "status", "claimed", "older", "q", "sort")
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@+:")


def _text_param(params: Mapping[str, str], key: str, limit: int) -> str | None:
    value = (params.get(key) or "").strip()
    if not value:
        return None
    if len(value) > limit or not value.isprintable():
        raise InvalidInput(f"filter {key!r} must be printable text of at most {limit} characters")
    return value


@dataclass(frozen=True)
class QueueFilter:
    """What the queue page shows: open items narrowed by ``source``, ``bank``, ``category``
    (the bank's), ``status`` (one of the open statuses), ``claimed`` (a reviewer's name,
    ``nobody`` or ``anyone``), ``older`` (queued at least this many hours ago) and ``q`` (an
    exact content id, account id or hash), in ``sort`` order. Every field is a GET query
    parameter of the same name; :meth:`from_query` refuses a bad one with InvalidInput."""

    source: str | None = None
    bank: str | None = None
    category: str | None = None
    status: str | None = None
    claimed: str | None = None
    older: int | None = None
    q: str | None = None
    sort: str = "priority"
    # Categories left out (a reviewer's opt-outs, in the default view): never a query field.
    skip_categories: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> QueueFilter:
        from safespace.store._models_queue import ITEM_SOURCES

        view = _text_param(params, "view", 32)
        source = _text_param(params, "source", 32)
        status = _text_param(params, "status", 32)
        if view is not None:
            if view not in QUEUE_VIEWS:
                raise InvalidInput(f"view must be one of {', '.join(QUEUE_VIEWS)}")
            if view == "escalations":
                status = status or "escalated"
            else:
                source = source or "retro"
        if source is not None and source not in ITEM_SOURCES:
            raise InvalidInput(f"source must be one of {', '.join(ITEM_SOURCES)}")
        if status is not None and status not in OPEN_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(OPEN_STATUSES)}")
        category = _text_param(params, "category", 32)
        claimed = _text_param(params, "claimed", 64)
        if claimed is not None and not set(claimed) <= _NAME_OK:
            raise InvalidInput("claimed must be a reviewer's name, 'nobody' or 'anyone'")
        if claimed == "anyone":
            claimed = None
        older_text = _text_param(params, "older", 8)
        older: int | None = None
        if older_text is not None:
            if not older_text.isascii() or not older_text.isdigit():
                raise InvalidInput("older must be a whole number of hours")
            older = int(older_text)
            if older > MAX_OLDER_THAN_HOURS:
                raise InvalidInput(f"older must be at most {MAX_OLDER_THAN_HOURS} hours")
        sort = _text_param(params, "sort", 16) or "priority"
        if sort not in QUEUE_SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(QUEUE_SORTS)}")
        return cls(
            source=source,
            bank=_text_param(params, "bank", 64),
            category=category,
            status=status,
            claimed=claimed,
            older=older,
            q=_text_param(params, "q", 256),
            sort=sort,
        )

    @classmethod
    def from_query_string(cls, text: str) -> QueueFilter:
        """The filter a hidden form field carries; a bad or empty one is the whole queue."""
        from urllib.parse import parse_qsl

        try:
            return cls.from_query(dict(parse_qsl(text[:2000])))
        except InvalidInput:
            return cls()

    def params(self, **changes: str | int | None) -> dict[str, str]:
        """The non-default fields as query parameters (``changes`` replace some)."""
        values: dict[str, Any] = {k: getattr(self, k) for k in _FILTER_KEYS} | changes
        if values.get("sort") == "priority":
            values["sort"] = None
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def query(self, **changes: str | int | None) -> str:
        from urllib.parse import urlencode

        return urlencode(self.params(**changes))

    @property
    def active(self) -> bool:
        return any(getattr(self, k) is not None for k in _FILTER_KEYS if k != "sort")

    def where(self, now: datetime) -> list[ColumnElement[bool]]:
        from sqlalchemy import Text
        from sqlalchemy import cast as sql_cast

        where: list[ColumnElement[bool]] = [ReviewItem.status.in_(OPEN_STATUSES)]
        if self.status is not None:
            where.append(ReviewItem.status == self.status)
        if self.source is not None:
            where.append(ReviewItem.source == self.source)
        if self.bank is not None:
            where.append(ReviewItem.bank == self.bank)
        if self.category is not None:
            where.append(ReviewItem.category == self.category)
        if self.skip_categories:
            skip = ReviewItem.category.not_in(self.skip_categories)
            where.append(or_(ReviewItem.category.is_(None), skip))
        live = ReviewItem.claim_expires_at > now
        if self.claimed == "nobody":
            where.append(or_(ReviewItem.claimed_by.is_(None), ReviewItem.claim_expires_at <= now))
        elif self.claimed is not None:
            where.append(ReviewItem.claimed_by == self.claimed)
            where.append(live)
        if self.older is not None:
            where.append(ReviewItem.created_at <= now - timedelta(hours=self.older))
        if self.q is not None:
            quoted = json.dumps(self.q)  # as the JSON column stores a hash value
            pattern = "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(
                or_(
                    ReviewItem.content_id == self.q,
                    ReviewItem.account_id == self.q,
                    ReviewItem.matched_value == self.q,
                    sql_cast(ReviewItem.hashes, Text).like(pattern + "%", escape="\\"),
                )
            )
        return where

    def order(self) -> tuple[Any, ...]:
        age = (ReviewItem.created_at, ReviewItem.id)
        if self.sort == "oldest":
            return age
        if self.sort == "newest":
            return (ReviewItem.created_at.desc(), ReviewItem.id.desc())
        if self.sort == "bank":
            return (func.coalesce(ReviewItem.bank, ""), ReviewItem.priority, *age)
        return (ReviewItem.priority, *age)


def count_filtered(queue: ReviewQueue, flt: QueueFilter) -> int:
    """How many open items the filter lets through (the page's total)."""
    with queue.db.session() as s:
        query = select(func.count()).select_from(ReviewItem).where(*flt.where(queue.clock()))
        return int(s.scalar(query) or 0)


def list_filtered(
    queue: ReviewQueue, flt: QueueFilter, *, limit: int = 100, offset: int = 0
) -> list[QueueItem]:
    with queue.db.session() as s:
        query = (
            select(ReviewItem)
            .where(*flt.where(queue.clock()))
            .order_by(*flt.order())
            .limit(limit)
            .offset(offset)
        )
        return [_info(r, None) for r in s.scalars(query)]


def filter_choices(queue: ReviewQueue) -> dict[str, list[str]]:
    """The banks, categories and claim holders open items have now (the filter's lists)."""
    now = queue.clock()
    with queue.db.session() as s:
        open_ = ReviewItem.status.in_(OPEN_STATUSES)

        def distinct(column: Any, *extra: ColumnElement[bool]) -> list[str]:
            query = select(column).where(open_, column.is_not(None), *extra).distinct()
            return sorted(str(v) for v in s.scalars(query.limit(500)))

        return {
            "banks": distinct(ReviewItem.bank),
            "categories": distinct(ReviewItem.category),
            "claimed": distinct(ReviewItem.claimed_by, ReviewItem.claim_expires_at > now),
        }


def view_counts(queue: ReviewQueue) -> dict[str, int]:
    """Open escalations and open retro-matches: the queue page's separate views."""
    with queue.db.session() as s:
        open_ = ReviewItem.status.in_(OPEN_STATUSES)
        count = select(func.count()).select_from(ReviewItem)
        esc = s.scalar(count.where(ReviewItem.status == "escalated"))
        retro = s.scalar(count.where(open_, ReviewItem.source == "retro"))
        return {"escalations": int(esc or 0), "retro": int(retro or 0)}


MAX_ADJACENT_SCAN = 20_000


def adjacent_items(
    queue: ReviewQueue, flt: QueueFilter, item_id: int
) -> tuple[int | None, int | None]:
    """The items before and after ``item_id`` in the filter's order (None at either end, or
    when the item is not in the filtered queue, or past the first 20,000 of it)."""
    with queue.db.session() as s:
        query = (
            select(ReviewItem.id)
            .where(*flt.where(queue.clock()))
            .order_by(*flt.order())
            .limit(MAX_ADJACENT_SCAN)
        )
        ids = list(s.scalars(query))
    if item_id not in ids:
        return None, ids[0] if ids else None
    at = ids.index(item_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def claim_next_filtered(
    queue: ReviewQueue,
    flt: QueueFilter,
    actor: str,
    role: str,
    *,
    skip_categories: Sequence[str] = (),
) -> QueueItem | None:
    """The first item in the filter's order this person may take, claimed; None if none.
    Items in ``skip_categories`` (the categories the reviewer opted out of) are never taken."""
    now = queue.clock()
    free = or_(ReviewItem.claimed_by.is_(None), ReviewItem.claim_expires_at <= now)
    if skip_categories:
        flt = replace(flt, skip_categories=(*flt.skip_categories, *skip_categories))
    with queue.db.session() as s:
        ids = s.scalars(
            select(ReviewItem.id).where(*flt.where(now), free).order_by(*flt.order()).limit(50)
        ).all()
    for item_id in ids:
        with suppress(Conflict, AccessDenied):
            return queue.claim(item_id, actor, role)
    return None


def item_stamp(item: QueueItem) -> str:
    """A short digest of what a row showed (status, claim): a bulk action skips an item
    whose stamp changed since the page was drawn."""
    import hashlib

    expires = item.claim_expires_at.isoformat() if item.claim_expires_at else ""
    text = f"{item.id}|{item.status}|{item.claimed_by or ''}|{expires}|{item.decided_by or ''}"
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: the items changed, and those skipped with why."""

    action: str
    done: tuple[int, ...]
    skipped: tuple[tuple[int, str], ...]


MAX_BULK = 500
BULK_ACTIONS = ("false-positive", "release")


def parse_selection(values: list[str]) -> dict[int, str]:
    """``ID:STAMP`` checkbox values; InvalidInput when none, too many or malformed."""
    picked: dict[int, str] = {}
    for value in values:
        item_text, _, stamp = value.partition(":")
        if not item_text.isascii() or not item_text.isdigit() or len(item_text) > 18:
            raise InvalidInput("a selected row is not an item of this queue")
        if len(stamp) != 12 or not all(c in "0123456789abcdef" for c in stamp):
            raise InvalidInput("a selected row is not an item of this queue")
        picked[int(item_text)] = stamp
    if not picked:
        raise InvalidInput("select at least one item")
    if len(picked) > MAX_BULK:
        raise InvalidInput(f"select at most {MAX_BULK} items at once")
    return picked


def bulk_action(
    queue: ReviewQueue,
    action: str,
    selected: Mapping[int, str],
    actor: str,
    role: str,
    reason: str,
) -> BulkResult:
    """A false positive (leads and admins) or a release (unclaim: yours, or anyone's for a
    lead) of the selected items, in one transaction, with one audit record per item as a
    single decision has. An item whose stamp (:func:`item_stamp`) changed since the page
    was drawn, or that this person may not change, is skipped and reported."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"bulk action must be one of {', '.join(BULK_ACTIONS)}")
    if action == "false-positive" and not role_allows(role, "lead"):
        raise AccessDenied("a bulk false positive needs the lead role")
    reason = (reason or "").strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise InvalidInput(f"a bulk action needs a reason (3..{MAX_REASON} characters)")
    if not selected or len(selected) > MAX_BULK:
        raise InvalidInput(f"select 1 to {MAX_BULK} items")
    if action == "false-positive":
        queue._ensure_allow_bank()
    now = queue.clock()
    done: list[int] = []
    skipped: list[tuple[int, str]] = []
    lead = role_allows(role, "lead")
    with queue.db.transaction() as s:
        rows = {
            r.id: r
            for r in s.scalars(
                select(ReviewItem)
                .where(ReviewItem.id.in_(sorted(selected)))
                .with_for_update()
                .order_by(ReviewItem.id)
            )
        }
        for item_id in sorted(selected):
            row = rows.get(item_id)
            if row is None:
                skipped.append((item_id, "no such item"))
                continue
            item = _info(row, None)
            if item_stamp(item) != selected[item_id]:
                skipped.append((item_id, "changed by someone else since the page was drawn"))
                continue
            if item.status not in OPEN_STATUSES:
                skipped.append((item_id, f"already decided ({item.status})"))
                continue
            holder = item.claimed(now)
            if action == "release":
                if holder is None:
                    skipped.append((item_id, "not claimed"))
                    continue
                if holder != actor and not lead:
                    skipped.append((item_id, f"claimed by {holder}: only a lead releases it"))
                    continue
                row.claimed_by, row.claim_expires_at, row.updated_at = None, None, now
                details = {"released": holder, "reason": reason, "bulk": True}
                audit.append(
                    s, f"user:{actor}", "case.release", f"review:{item_id}", details, at=now
                )
                done.append(item_id)
                continue
            if holder is not None and holder != actor:
                skipped.append((item_id, f"claimed by {holder}"))
                continue
            if item.status == "second-look" and item.decided_by == actor:
                skipped.append((item_id, "a second look must be taken by someone else"))
                continue
            _bulk_false_positive(queue, s, row, item, actor, role, reason, now)
            done.append(item_id)
        s.flush()
    return BulkResult(action, tuple(done), tuple(skipped))


def _bulk_false_positive(
    queue: ReviewQueue,
    s: Session,
    row: ReviewItem,
    item: QueueItem,
    actor: str,
    role: str,
    reason: str,
    now: datetime,
) -> None:
    """One item of a bulk false positive: what :meth:`ReviewQueue.decide` records for it."""
    final = not queue.policy.second_look or item.status == "second-look"
    s.add(
        ReviewDecision(
            item_id=item.id, actor=actor, role=role, kind="false-positive", category=None,
            reason=reason, final=final, at=now,
        )
    )  # fmt: skip
    details: dict[str, Any] = {"decision": "false-positive", "category": None, "final": final}
    details["stage"] = "second-look" if item.status == "second-look" else "first"
    details["reason"], details["bulk"] = reason, True
    row.claimed_by, row.claim_expires_at, row.updated_at = None, None, now
    if not final:
        row.status, row.decision, row.decision_category = "second-look", "false-positive", None
        row.decided_by = actor
    else:
        row.status, row.decision, row.decision_category = "false-positive", "false-positive", None
        row.decided_by, row.final_at = actor, now
        s.execute(delete(ReviewMedia).where(ReviewMedia.item_id == item.id))
        details["allowed_hashes"] = queue._allow(s, item, actor, now)
        opinions = _queue_opinions(s, item, "false-positive", reason, now)
        if opinions:
            details["opinions"] = opinions
    audit.append(s, f"user:{actor}", "case.decision", f"review:{item.id}", details, at=now)
