"""Models for console accounts: users, their server-side sessions, and sign-in throttling.

Kept apart from the bank and access models, on the same ``Base``. Sessions are stored by the
SHA-256 of their id, so a copy of the database holds no cookie that would sign anyone in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ._models import Base, utcnow

__all__ = ["ROLES", "ConsoleSession", "SignInThrottle", "User"]

ROLES = ("reviewer", "lead", "admin")


class User(Base):
    """A console account; ``password_hash`` is an argon2id PHC string, never the password."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('reviewer', 'lead', 'admin')", name="role"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser. ``id_hash`` is SHA-256 of the cookie's random id."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index(None, "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInThrottle(Base):
    """Failed sign-ins per normalised name, for names with or without an account alike."""

    __tablename__ = "sign_in_throttle"

    name_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
