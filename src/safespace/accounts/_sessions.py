"""Server-side console sessions: random ids, a CSRF token each, idle and absolute timeouts.

The cookie carries 256 random bits; the database keeps only their SHA-256, so reading the
table (a backup, a replica) signs no one in. Each session has its own synchroniser token
for forms. ``last_seen_at`` is written at most once per ``touch_every``, so reading pages
does not turn into a write per request; the idle timeout is exact to within that step.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from safespace.accounts._users import Clock, UserInfo, user_info
from safespace.store import ConsoleSession, Database, User
from safespace.store._models import utcnow

__all__ = ["SessionInfo", "SessionService", "new_token", "tokens_match"]

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """256 random bits, URL-safe: session ids and CSRF tokens."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not expected or not given or not isinstance(given, str):
        return False
    return secrets.compare_digest(expected.encode(), given.encode())


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    """A live session and its user."""

    user: UserInfo
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class SessionService:
    """Sessions over a :class:`~safespace.store.Database`."""

    def __init__(
        self,
        db: Database,
        *,
        idle: timedelta = timedelta(minutes=30),
        absolute: timedelta = timedelta(hours=12),
        touch_every: timedelta = timedelta(seconds=30),
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.idle = idle
        self.absolute = absolute
        self.touch_every = min(touch_every, idle / 10)
        self.clock = clock

    def _expires(self, created: datetime, seen: datetime) -> datetime:
        return min(created + self.absolute, seen + self.idle)

    def row_for(self, user_id: int, now: datetime) -> tuple[str, ConsoleSession]:
        """A new session row for the caller to add in its own transaction, and its id."""
        session_id = new_token()
        row = ConsoleSession(
            id_hash=_digest(session_id),
            user_id=user_id,
            csrf_token=new_token(),
            created_at=now,
            last_seen_at=now,
        )
        return session_id, row

    def lookup(self, session_id: str | None) -> SessionInfo | None:
        """The live session with this id, or None (malformed, unknown, expired, disabled)."""
        if not session_id or not _SESSION_ID.fullmatch(session_id):
            return None
        digest = _digest(session_id)
        now = self.clock()
        with self.db.session() as s:
            found = s.execute(
                select(ConsoleSession, User)
                .join(User, User.id == ConsoleSession.user_id)
                .where(ConsoleSession.id_hash == digest)
            ).first()
            if found is None:
                return None
            row, user = found[0], found[1]
            created, seen, csrf = row.created_at, row.last_seen_at, row.csrf_token
            info = user_info(user)
        if not info.active or now >= self._expires(created, seen):
            self.end(session_id)
            return None
        if now - seen >= self.touch_every:
            with self.db.transaction() as s:
                s.execute(
                    update(ConsoleSession)
                    .where(ConsoleSession.id_hash == digest)
                    .values(last_seen_at=now)
                )
            seen = now
        return SessionInfo(info, csrf, created, seen, self._expires(created, seen))

    def end(self, session_id: str | None) -> bool:
        """Sign out: delete the session. True when there was one."""
        if not session_id or not _SESSION_ID.fullmatch(session_id):
            return False
        with self.db.transaction() as s:
            result = s.execute(
                delete(ConsoleSession).where(ConsoleSession.id_hash == _digest(session_id))
            )
            return bool(getattr(result, "rowcount", 0))

    def purge_expired(self) -> int:
        """Delete sessions past either timeout; returns how many."""
        now = self.clock()
        c = ConsoleSession
        with self.db.transaction() as s:
            result = s.execute(
                delete(c).where(
                    or_(c.created_at <= now - self.absolute, c.last_seen_at <= now - self.idle)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
