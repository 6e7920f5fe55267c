"""Console accounts: users with roles, argon2 passwords, server-side sessions, CSRF, lockout.

Public API: :class:`Accounts` (sign in and out, look up a session; holds a
:class:`UserService` and a :class:`SessionService`), :class:`UserInfo`, :data:`ROLES`,
:func:`role_allows`, :class:`Passwords`, :func:`tokens_match` (CSRF checks),
:func:`create_user` (for set-up scripts and the demo).
"""

from __future__ import annotations

from safespace.accounts._passwords import (
    MIN_PASSWORD_LENGTH,
    Passwords,
    check_new_password,
    generate_password,
)
from safespace.accounts._sessions import SessionInfo, SessionService, new_token, tokens_match
from safespace.accounts._signin import Accounts, LockoutPolicy, SignInResult
from safespace.accounts._users import ROLES, UserInfo, UserService, normalize_name, role_allows
from safespace.store import Database

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "Accounts",
    "LockoutPolicy",
    "Passwords",
    "SessionInfo",
    "SessionService",
    "SignInResult",
    "UserInfo",
    "UserService",
    "check_new_password",
    "create_user",
    "generate_password",
    "new_token",
    "normalize_name",
    "role_allows",
    "tokens_match",
]


def create_user(
    db: Database, name: str, role: str = "admin", password: str | None = None
) -> tuple[UserInfo, str | None]:
    """Create a console account; returns it and the generated password (None if given one)."""
    return UserService(db).create(name, role, password)
