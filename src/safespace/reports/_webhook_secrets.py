"""Webhook signing secrets at rest: sealed under the evidence master key, or only verified.

A secret that signs actions lets anyone who holds it forge a take-down, so a database dump
must not reveal it. Secrets SafeSpace generates or is given through the API are sealed with
AES-256-GCM under a key derived (HKDF-SHA256) from ``SAFESPACE_EVIDENCE_KEY``; the associated
data names the endpoint (id and name), so a sealed secret copied onto another row does not
open. A secret the operator configures (``SAFESPACE_REVIEW_WEBHOOK_SECRET``) stays in the
settings: the database keeps a salted scrypt verifier, enough to notice that it changed.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safespace.errors import ConfigError, IntegrityFailure
from safespace.reports._evidence import key_id

__all__ = ["SecretBox", "check", "verifier"]

_NONCE = 12
_LABEL = b"safespace-webhook-secret-v1\n"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_HINT = "generate one with: openssl rand -base64 32"


def verifier(secret: str) -> str:
    """``s1$<salt>$<scrypt>``: salted and slow, so a dump does not make guessing cheap."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=_LABEL + salt, **_SCRYPT)
    return f"s1${salt.hex()}${digest.hex()}"


def check(stored: str | None, secret: str) -> bool:
    """Whether ``secret`` is the one ``stored`` (a :func:`verifier`) was made from."""
    parts = (stored or "").split("$")
    if len(parts) != 3 or parts[0] != "s1":
        return False
    try:
        salt, want = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
    except ValueError:
        return False
    digest = hashlib.scrypt(secret.encode(), salt=_LABEL + salt, **_SCRYPT)
    return hmac.compare_digest(digest, want)


def _aad(endpoint_id: int, name: str) -> bytes:
    return _LABEL + f"{endpoint_id}\n{name}".encode()


class SecretBox:
    """Seals and opens endpoint secrets under one master key (``None``: refuses clearly)."""

    def __init__(self, master_key: bytes | None) -> None:
        if master_key is not None and len(master_key) != 32:
            raise ConfigError("the evidence master key must be 32 bytes")
        self.key_id = key_id(master_key) if master_key is not None else None
        self._key: bytes | None = None
        if master_key is not None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL)
            self._key = hkdf.derive(master_key)

    def require(self) -> None:
        """A ConfigError now, before anything is written, when there is no key to seal with."""
        self._aead()

    def _aead(self) -> AESGCM:
        if self._key is None:
            raise ConfigError(
                "SAFESPACE_EVIDENCE_KEY is not set: webhook endpoint secrets are sealed with "
                f"it, never stored in plain text; {_HINT}"
            )
        return AESGCM(self._key)

    def seal(self, endpoint_id: int, name: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead().encrypt(nonce, secret.encode(), _aad(endpoint_id, name))

    def open(self, endpoint_id: int, name: str, sealed: bytes, sealed_key_id: str | None) -> str:
        aead = self._aead()
        if sealed_key_id != self.key_id:
            raise ConfigError(
                f"the secret of webhook endpoint {name!r} is sealed under master key "
                f"{sealed_key_id}, this server has {self.key_id}: set the old key back, or "
                "give the endpoint a new secret"
            )
        try:
            data = aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(endpoint_id, name))
        except InvalidTag:
            raise IntegrityFailure(
                f"the sealed secret of webhook endpoint {name!r} does not open: it was altered "
                "or belongs to another endpoint"
            ) from None
        return data.decode()
