"""Password hashing with argon2id, the policy for new passwords, and generated passwords.

Hashes are PHC strings carrying their own parameters, so raising the parameters later needs
no migration: a hash made with older ones verifies, and is replaced at the next sign-in.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from safespace.errors import InvalidInput

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Passwords",
    "check_new_password",
    "generate_password",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


def generate_password() -> str:
    """24 URL-safe characters: 144 random bits."""
    return secrets.token_urlsafe(18)


def check_new_password(password: str, name: str) -> str:
    """Length rules only (NIST SP 800-63B): long passphrases beat composition rules."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == name.strip().lower():
        raise InvalidInput("a password must not be the account name")
    return password


class Passwords:
    """argon2id with the library's RFC 9106 defaults unless a hasher is given (tests)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Verified against for unknown names, so they take as long as known ones.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        """``(matches, new_hash)``: ``new_hash`` is set when the stored parameters are stale."""
        if len(password) > MAX_PASSWORD_LENGTH:
            password = password[:MAX_PASSWORD_LENGTH]  # never verify megabytes; cannot match
            stored = None
        try:
            self.hasher.verify(stored if stored is not None else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False, None
        if stored is None:
            return False, None
        if self.hasher.check_needs_rehash(stored):
            return True, self.hasher.hash(password)
        return True, None
