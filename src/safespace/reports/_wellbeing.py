"""Reviewer wellbeing beyond blur: each reviewer's settings, exposure summary and breaks.

Every console user may choose how strongly media is blurred (never not at all), whether it
stays greyscale once revealed, after how many minutes of continuous review the console
suggests a break (the operator's ``SAFESPACE_REVIEW_BREAK_MINUTES`` by default, 0: never),
and categories they would rather not be handed ("Claim the next item" and the queue's
default view skip them; a linked item still opens, and nothing assigns an item to anyone).

Activity is read from what is already recorded: the audit log's claims, reveals and
decisions (``case.claim``, ``case.reveal``, ``case.decision``), the reveal counts and the
decisions. Events less than :data:`PAUSE_MINUTES` apart are one stretch of review; the
stretch still going on (its last event less than that long ago) is the continuous review a
break reminder counts. All times come from the injected ``clock``: nothing here waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safespace.config import Settings
from safespace.errors import InvalidInput
from safespace.reports import _audit as audit
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_accounts import User
from safespace.store._models_queue import ReviewDecision, ReviewItem, ReviewReveal
from safespace.store._models_reports import AuditRecord
from safespace.store._models_wellbeing import BLUR_STRENGTHS, MAX_BREAK_MINUTES, ReviewerSettings

__all__ = [
    "BLUR_STRENGTHS",
    "BREAK_SNOOZE_MINUTES",
    "PAUSE_MINUTES",
    "ExposureSummary",
    "ReviewerLoad",
    "ReviewerPrefs",
    "Wellbeing",
    "review_stretches",
]

PAUSE_MINUTES = 15  # a gap this long between review steps is a pause: the stretch ends
BREAK_SNOOZE_MINUTES = 15  # "Not now" on the break notice puts it off this long
MAX_OPT_OUTS = 50
_ACTIVITY = ("case.claim", "case.reveal", "case.decision")


@dataclass(frozen=True)
class ReviewerPrefs:
    """One reviewer's settings; ``break_minutes`` is the one in force (own or default)."""

    blur: str = "strong"
    keep_grey: bool = True
    break_minutes: int = 50
    own_break_minutes: int | None = None  # None: the operator's default
    opt_out: tuple[str, ...] = ()
    snoozed_until: datetime | None = None

    @property
    def blur_class(self) -> str:
        return f"blur-{self.blur}"

    @property
    def media_classes(self) -> str:
        """The CSS classes the item page's media element gets (no inline style)."""
        return self.blur_class + (" keep-grey" if self.keep_grey else "")


@dataclass(frozen=True)
class ExposureSummary:
    """What a reviewer did and saw: today is the UTC day, the week the last 7 days."""

    items_seen_today: int
    reveals_today: int
    reveals_week: int
    decided_today: int
    decided_week: int
    review_minutes_today: int
    continuous_minutes: int
    last_active: datetime | None
    break_minutes: int
    break_due: bool


@dataclass(frozen=True)
class ReviewerLoad:
    """One row of the lead's view."""

    name: str
    role: str
    summary: ExposureSummary
    opt_out: tuple[str, ...] = field(default=())


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def review_stretches(
    events: Iterable[datetime], now: datetime, pause_minutes: int = PAUSE_MINUTES
) -> list[tuple[datetime, datetime]]:
    """Times of review steps as stretches ``(start, end)``: steps less than
    ``pause_minutes`` apart belong together, and a stretch whose last step was less than that
    long before ``now`` runs until ``now``."""
    pause = timedelta(minutes=pause_minutes)
    stretches: list[tuple[datetime, datetime]] = []
    for at in sorted(e for e in events if e <= now):
        if stretches and at - stretches[-1][1] < pause:
            stretches[-1] = (stretches[-1][0], at)
        else:
            stretches.append((at, at))
    if stretches and now - stretches[-1][1] < pause:
        stretches[-1] = (stretches[-1][0], now)
    return stretches


class Wellbeing:
    """Reviewers' settings and activity over a database; ``clock`` is replaceable."""

    def __init__(
        self,
        db: Database,
        *,
        default_break_minutes: int = 50,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.default_break_minutes = default_break_minutes
        self.clock = clock

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> Wellbeing:
        return cls(db, default_break_minutes=settings.review_break_minutes, clock=clock)

    # --- settings --------------------------------------------------------------------------

    def _prefs(self, row: ReviewerSettings | None) -> ReviewerPrefs:
        if row is None:
            return ReviewerPrefs(break_minutes=self.default_break_minutes)
        own = row.break_minutes
        return ReviewerPrefs(
            blur=row.blur,
            keep_grey=row.keep_grey,
            break_minutes=self.default_break_minutes if own is None else own,
            own_break_minutes=own,
            opt_out=tuple(str(c) for c in row.opt_out or ()),
            snoozed_until=row.break_snoozed_until,
        )

    def prefs(self, user: str) -> ReviewerPrefs:
        with self.db.session() as s:
            return self._prefs(s.get(ReviewerSettings, user))

    def categories(self, user: str | None = None) -> list[str]:
        """The categories one may opt out of: those review items carry (their bank entry's
        category, copied when the item was made), and any ``user`` already opted out of."""
        with self.db.session() as s:
            query = select(ReviewItem.category).where(ReviewItem.category.is_not(None))
            found = set(s.scalars(query.distinct().limit(500)))
            if user is not None:
                row = s.get(ReviewerSettings, user)
                found |= set(row.opt_out or ()) if row is not None else set()
        return sorted(str(c) for c in found if str(c).strip())

    def check(
        self,
        user: str,
        *,
        blur: str,
        keep_grey: bool,
        break_minutes: str,
        opt_out: Sequence[str],
    ) -> tuple[str, bool, int | None, tuple[str, ...]]:
        """The form's values, checked; InvalidInput says what to fix."""
        if blur not in BLUR_STRENGTHS:
            raise InvalidInput(f"blur must be one of {', '.join(BLUR_STRENGTHS)}")
        text = break_minutes.strip()
        minutes: int | None = None
        if text:
            if not text.isascii() or not text.isdigit() or int(text) > MAX_BREAK_MINUTES:
                raise InvalidInput(
                    f"break reminder must be a whole number of minutes from 0 to "
                    f"{MAX_BREAK_MINUTES} (0: no reminder; empty: the default)"
                )
            minutes = int(text)
        allowed = set(self.categories(user))
        chosen = tuple(dict.fromkeys(c.strip() for c in opt_out if c.strip()))
        unknown = [c for c in chosen if c not in allowed]
        if unknown or len(chosen) > MAX_OPT_OUTS:
            raise InvalidInput(f"no such category to opt out of: {', '.join(unknown)[:200]}")
        return blur, keep_grey, minutes, chosen

    def save(
        self,
        user: str,
        *,
        blur: str,
        keep_grey: bool,
        break_minutes: str,
        opt_out: Sequence[str],
    ) -> ReviewerPrefs:
        """Check and store one reviewer's settings (InvalidInput: nothing is stored)."""
        values = self.check(
            user, blur=blur, keep_grey=keep_grey, break_minutes=break_minutes, opt_out=opt_out
        )
        with self.db.transaction() as s:
            row = self._row(s, user)
            row.blur, row.keep_grey, row.break_minutes, chosen = values
            row.opt_out = list(chosen)
            row.updated_at = self.clock()
            s.flush()
            details = {
                "blur": row.blur,
                "keep_grey": row.keep_grey,
                "break_minutes": row.break_minutes,
                "opt_out": list(chosen),
            }
            audit.append(
                s, audit.user_actor(user), "reviewer.settings", f"user:{user}", details,
                at=row.updated_at,
            )  # fmt: skip
            return self._prefs(row)

    def _row(self, s: Session, user: str) -> ReviewerSettings:
        row = s.get(ReviewerSettings, user)
        if row is None:
            row = ReviewerSettings(user_name=user, blur="strong", keep_grey=True, opt_out=[])
            s.add(row)
        return row

    def snooze(self, user: str, minutes: int = BREAK_SNOOZE_MINUTES) -> datetime:
        """Record "not now" on the break notice: it stays away for ``minutes``."""
        until = self.clock() + timedelta(minutes=minutes)
        with self.db.transaction() as s:
            row = self._row(s, user)
            row.break_snoozed_until = until
            details = {"until": until.isoformat(), "minutes": minutes}
            audit.append(
                s, audit.user_actor(user), "reviewer.break", f"user:{user}", details,
                at=until - timedelta(minutes=minutes),
            )  # fmt: skip
        return until

    # --- activity --------------------------------------------------------------------------

    def _events(self, s: Session, user: str, since: datetime) -> list[tuple[datetime, str]]:
        query = select(AuditRecord.at, AuditRecord.subject).where(
            AuditRecord.actor == f"user:{user}",
            AuditRecord.action.in_(_ACTIVITY),
            AuditRecord.at >= since,
        )
        return [(_utc(at), subject) for at, subject in s.execute(query)]

    def summary(self, user: str) -> ExposureSummary:
        with self.db.session() as s:
            prefs = self._prefs(s.get(ReviewerSettings, user))
            return self._summary(s, user, prefs)

    def _summary(self, s: Session, user: str, prefs: ReviewerPrefs) -> ExposureSummary:
        now = self.clock()
        today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        week = now - timedelta(days=7)
        # A stretch may have begun before midnight: read back far enough to find its start.
        events = self._events(s, user, min(today, now - timedelta(hours=24)))
        times = [at for at, _ in events]
        stretches = review_stretches(times, now)
        in_today = sum(
            (min(end, now) - max(start, today) for start, end in stretches if end >= today),
            timedelta(),
        )
        continuous = (
            _minutes(now - stretches[-1][0]) if stretches and stretches[-1][1] == now else 0
        )
        count = select(func.count())
        reveals_today = s.scalar(
            count.select_from(ReviewReveal).where(
                ReviewReveal.actor == user, ReviewReveal.day == today.strftime("%Y-%m-%d")
            )
        )
        reveals_week = s.scalar(
            count.select_from(ReviewReveal).where(
                ReviewReveal.actor == user, ReviewReveal.at > week
            )
        )
        decided = select(func.count(func.distinct(ReviewDecision.item_id))).where(
            ReviewDecision.actor == user
        )
        last = s.scalar(
            select(func.max(AuditRecord.at)).where(
                AuditRecord.actor == f"user:{user}", AuditRecord.action.in_(_ACTIVITY)
            )
        )
        snoozed = prefs.snoozed_until is not None and now < prefs.snoozed_until
        due = prefs.break_minutes > 0 and continuous >= prefs.break_minutes and not snoozed
        return ExposureSummary(
            items_seen_today=len({subject for at, subject in events if at >= today}),
            reveals_today=int(reveals_today or 0),
            reveals_week=int(reveals_week or 0),
            decided_today=int(s.scalar(decided.where(ReviewDecision.at >= today)) or 0),
            decided_week=int(s.scalar(decided.where(ReviewDecision.at > week)) or 0),
            review_minutes_today=_minutes(in_today),
            continuous_minutes=continuous,
            last_active=None if last is None else _utc(last),
            break_minutes=prefs.break_minutes,
            break_due=due,
        )

    def break_due(self, user: str) -> bool:
        return self.summary(user).break_due

    def reviewers(self) -> list[ReviewerLoad]:
        """Every console user who is not disabled, with their load (the lead's view)."""
        with self.db.session() as s:
            users = s.execute(
                select(User.name, User.role).where(User.disabled_at.is_(None)).order_by(User.name)
            ).all()
            rows = []
            for name, role in users:
                prefs = self._prefs(s.get(ReviewerSettings, name))
                rows.append(ReviewerLoad(name, role, self._summary(s, name, prefs), prefs.opt_out))
            return rows


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
