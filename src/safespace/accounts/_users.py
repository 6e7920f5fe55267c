"""Console accounts: create, list, change role, disable, reset passwords.

Names are case-insensitive (stored in lower case). Disabling an account or resetting its
password ends every session it has, in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safespace.accounts._passwords import Passwords, check_new_password, generate_password
from safespace.errors import InvalidInput, UserExists, UserNotFound
from safespace.store import ROLES, ConsoleSession, Database, SignInThrottle, User
from safespace.store._models import utcnow

__all__ = ["ROLES", "Clock", "UserInfo", "UserService", "normalize_name", "role_allows"]

Clock = Callable[[], datetime]
_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_RANK = {role: i for i, role in enumerate(ROLES)}


def normalize_name(name: str) -> str:
    """The stored form of a name typed by a person: trimmed, lower case."""
    return name.strip().lower() if isinstance(name, str) else ""


def _check_name(name: str) -> str:
    key = normalize_name(name)
    if not _NAME.fullmatch(key):
        raise InvalidInput(
            "a user name is 1-64 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return key


def _check_role(role: str) -> str:
    if role not in _RANK:
        raise InvalidInput(f"unknown role {role!r}: use {', '.join(ROLES)}")
    return role


def role_allows(role: str, needed: str) -> bool:
    """Roles are ordered: reviewer < lead < admin; each may do what those below it may."""
    return _RANK.get(role, -1) >= _RANK[_check_role(needed)]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class UserInfo:
    """What is known about an account; never its password hash."""

    id: int
    name: str
    role: str
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def allows(self, needed: str) -> bool:
        return self.active and role_allows(self.role, needed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "created_at": _iso(self.created_at),
            "last_sign_in_at": _iso(self.last_sign_in_at),
            "disabled_at": _iso(self.disabled_at),
        }


def user_info(row: User) -> UserInfo:
    return UserInfo(
        row.id, row.name, row.role, row.created_at, row.last_sign_in_at, row.disabled_at
    )


def find_user(s: Session, name: str) -> User:
    row = s.scalar(select(User).where(User.name == normalize_name(name)))
    if row is None:
        raise UserNotFound(f"no user named {normalize_name(name)!r}")
    return row


def end_sessions(s: Session, user_id: int) -> int:
    """Delete every session of one user (in the caller's transaction); returns how many."""
    result = s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


class UserService:
    """Accounts over a :class:`~safespace.store.Database`."""

    def __init__(
        self, db: Database, passwords: Passwords | None = None, clock: Clock = utcnow
    ) -> None:
        self.db = db
        self.passwords = passwords or Passwords()
        self.clock = clock

    def create(
        self, name: str, role: str, password: str | None = None
    ) -> tuple[UserInfo, str | None]:
        """Create an account. Without ``password`` one is generated and returned (else None)."""
        key = _check_name(name)
        _check_role(role)
        generated = password is None
        secret = generate_password() if password is None else check_new_password(password, key)
        digest = self.passwords.hash(secret)
        now = self.clock()
        with self.db.transaction() as s:
            if s.scalar(select(User.id).where(User.name == key)) is not None:
                raise UserExists(f"user {key!r} already exists")
            row = User(
                name=key,
                role=role,
                password_hash=digest,
                created_at=now,
                password_changed_at=now,
            )
            s.add(row)
            s.flush()
            return user_info(row), secret if generated else None

    def list_users(self) -> list[UserInfo]:
        with self.db.session() as s:
            return [user_info(u) for u in s.scalars(select(User).order_by(User.name))]

    def get(self, name: str) -> UserInfo:
        with self.db.session() as s:
            return user_info(find_user(s, name))

    def set_role(self, name: str, role: str) -> UserInfo:
        _check_role(role)
        with self.db.transaction() as s:
            row = find_user(s, name)
            row.role = role
            s.flush()
            return user_info(row)

    def disable(self, name: str) -> UserInfo:
        """Refuse the account from now on and end its sessions (idempotent)."""
        with self.db.transaction() as s:
            row = find_user(s, name)
            if row.disabled_at is None:
                row.disabled_at = self.clock()
            end_sessions(s, row.id)
            s.flush()
            return user_info(row)

    def enable(self, name: str) -> UserInfo:
        with self.db.transaction() as s:
            row = find_user(s, name)
            row.disabled_at = None
            s.flush()
            return user_info(row)

    def reset_password(self, name: str, password: str | None = None) -> tuple[UserInfo, str | None]:
        """Set a new password (generated unless given), end all sessions, lift any lockout."""
        key = normalize_name(name)
        secret = generate_password() if password is None else check_new_password(password, key)
        digest = self.passwords.hash(secret)
        with self.db.transaction() as s:
            row = find_user(s, key)
            row.password_hash = digest
            row.password_changed_at = self.clock()
            end_sessions(s, row.id)
            s.execute(delete(SignInThrottle).where(SignInThrottle.name_key == key))
            s.flush()
            return user_info(row), secret if password is None else None
