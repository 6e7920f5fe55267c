"""Signing in and out: password check, lockout after repeated failures, audit records.

Lockout is counted per *name typed*, whether or not an account has that name, and answers
the same way for both: a locked name tells an attacker nothing about which names exist.
Each attempt is counted in the database *before* its password is verified, so parallel
attempts (threads, workers, servers) share one count and no more than the limit are ever
verified. Unknown names are checked against a dummy hash, so they take as long as real ones. A
disabled account fails like a wrong password. Successful sign-ins, failures on real accounts
and lockouts are appended to the audit log (:mod:`safespace.reports._audit`) in the same
transaction; failures on unknown names are not, since people type passwords into the name
field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from safespace.accounts._passwords import Passwords
from safespace.accounts._sessions import SessionInfo, SessionService
from safespace.accounts._users import Clock, UserInfo, UserService, normalize_name, user_info
from safespace.config import Settings
from safespace.store import Database, SignInThrottle, User
from safespace.store._models import utcnow

if TYPE_CHECKING:
    from safespace.reports._audit import AuditAction

__all__ = ["Accounts", "LockoutPolicy", "SignInResult", "audit_hook"]

_MAX_KEY = 128


@dataclass(frozen=True)
class LockoutPolicy:
    """``failures`` within ``window`` lock the name for ``lock``."""

    failures: int = 5
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInResult:
    """``ok`` (with the new session's id), ``wrong`` or ``locked`` (with ``retry_after``)."""

    status: Literal["ok", "wrong", "locked"]
    session_id: str | None = None
    user: UserInfo | None = None
    retry_after: timedelta | None = None


def audit_hook(
    s: Session, actor: str, action: AuditAction, subject: str, details: dict[str, Any]
) -> None:
    """Append to the audit chain when the reports package is installed; else do nothing."""
    try:
        from safespace.reports import _audit as audit
    except ImportError:  # pragma: no cover - the audit log ships with SafeSpace
        return
    audit.append(s, actor, action, subject, details)


class Accounts:
    """Users, sessions and sign-in for one app (or one CLI command)."""

    def __init__(
        self,
        db: Database,
        *,
        passwords: Passwords | None = None,
        policy: LockoutPolicy | None = None,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=12),
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.policy = policy or LockoutPolicy()
        self._clock = clock
        self.users = UserService(db, passwords, clock=self.now)
        self.sessions = SessionService(db, idle=idle, absolute=absolute, clock=self.now)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> Accounts:
        return cls(
            db,
            policy=LockoutPolicy(
                settings.console_lockout_failures,
                timedelta(minutes=settings.console_lockout_window_minutes),
                timedelta(minutes=settings.console_lockout_minutes),
            ),
            idle=timedelta(minutes=settings.console_session_idle_minutes),
            absolute=timedelta(hours=settings.console_session_absolute_hours),
        )

    def now(self) -> datetime:
        return self._clock()

    def set_clock(self, clock: Clock) -> None:
        """Tests move time forward with this."""
        self._clock = clock

    @property
    def passwords(self) -> Passwords:
        return self.users.passwords

    @passwords.setter
    def passwords(self, value: Passwords) -> None:
        self.users.passwords = value

    def session(self, session_id: str | None) -> SessionInfo | None:
        return self.sessions.lookup(session_id)

    def sign_in(self, name: str, password: str) -> SignInResult:
        """Check a name and password; the attempt is counted before the password is verified.

        Counting first, in one write transaction, means parallel attempts (several requests,
        workers or servers on one database) share the count: at most ``policy.failures``
        passwords are ever verified for a name within its window, however many arrive at once.
        """
        key = normalize_name(name)[:_MAX_KEY]
        now = self.now()
        reserved = self._reserve(key, now)
        if isinstance(reserved, SignInResult):
            return reserved
        attempt, user_id, stored = reserved
        ok, new_hash = self.passwords.verify(stored, password if isinstance(password, str) else "")
        if ok and user_id is not None:
            return self._succeed(user_id, key, new_hash, now)
        return self._fail(key, attempt, user_id is not None, now)

    def _reserve(
        self, key: str, now: datetime
    ) -> SignInResult | tuple[int, int | None, str | None]:
        """Count this attempt against the name: ``(attempt number, user id, stored hash)`` for
        an attempt that may verify, or the ``locked`` answer for one that may not."""
        p = self.policy
        t = SignInThrottle
        with self.db.transaction() as s:
            # Forget names whose window and lock are both over, so the table stays small.
            s.execute(
                delete(t).where(
                    t.window_start <= now - p.window,
                    or_(t.locked_until.is_(None), t.locked_until <= now),
                    t.name_key != key,
                )
            )
            throttle = s.get(t, key)
            if throttle is None:
                throttle = SignInThrottle(name_key=key, failures=0, window_start=now)
                s.add(throttle)
            if throttle.locked_until is not None and now < throttle.locked_until:
                return SignInResult("locked", retry_after=throttle.locked_until - now)
            if now - throttle.window_start >= p.window:
                throttle.failures, throttle.window_start = 0, now
            throttle.failures += 1
            attempt = throttle.failures
            s.flush()
            if attempt > p.failures:
                # The limit's attempts are still being verified: this one never is.
                return SignInResult("locked", retry_after=p.lock)
            row = s.scalar(select(User).where(User.name == key)) if key else None
            user_id = row.id if row is not None else None
            stored = row.password_hash if row is not None and row.disabled_at is None else None
            return attempt, user_id, stored

    def _succeed(self, user_id: int, key: str, new_hash: str | None, now: datetime) -> SignInResult:
        with self.db.transaction() as s:
            user = s.get(User, user_id)
            if user is None or user.disabled_at is not None:  # disabled meanwhile
                return SignInResult("wrong")
            if new_hash is not None:
                user.password_hash = new_hash
            user.last_sign_in_at = now
            s.execute(delete(SignInThrottle).where(SignInThrottle.name_key == key))
            session_id, session_row = self.sessions.row_for(user.id, now)
            s.add(session_row)
            details = {"rehashed": True} if new_hash is not None else {}
            audit_hook(s, f"user:{user.name}", "console.sign-in", f"user:{user.name}", details)
            s.flush()
            return SignInResult("ok", session_id=session_id, user=user_info(user))

    def _fail(self, key: str, attempt: int, known: bool, now: datetime) -> SignInResult:
        """Record a failed attempt (already counted): the limit's last one locks the name."""
        p = self.policy
        locked = attempt >= p.failures
        with self.db.transaction() as s:
            row = s.get(SignInThrottle, key)
            # No row: a parallel attempt with the right password signed in meanwhile.
            if locked and row is not None:
                row.failures, row.window_start, row.locked_until = 0, now, now + p.lock
            if known:
                subject = f"user:{key}"
                audit_hook(s, subject, "console.sign-in-failed", subject, {"locked": locked})
            s.flush()
        if locked:
            return SignInResult("locked", retry_after=p.lock)
        return SignInResult("wrong")

    def sign_out(self, session_id: str | None, user: UserInfo | None = None) -> bool:
        ended = self.sessions.end(session_id)
        if ended and user is not None:
            with self.db.transaction() as s:
                subject = f"user:{user.name}"
                audit_hook(s, subject, "console.sign-out", subject, {})
        return ended
