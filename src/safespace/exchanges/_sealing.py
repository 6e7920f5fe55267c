"""Source credentials at rest: sealed under the evidence master key, never stored in clear.

An API key of a peer, NCMEC's password or StopNCII's subscription key lets anyone who holds
it read (and vote on) another organisation's lists, so a database dump must not reveal it.
The credentials of a source are sealed together (a JSON object) with AES-256-GCM under a
key derived (HKDF-SHA256) from ``SAFESPACE_EVIDENCE_KEY``, as webhook secrets are; the
associated data names the source, so sealed credentials copied onto another row do not open.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safespace.errors import ConfigError, IntegrityFailure
from safespace.reports._evidence import key_id

__all__ = ["CredentialBox"]

_NONCE = 12
_LABEL = b"safespace-source-credentials-v1\n"
_HINT = "generate one with: openssl rand -base64 32"


class CredentialBox:
    """Seals and opens a source's credentials under one master key (None: refuses clearly)."""

    def __init__(self, master_key: bytes | None) -> None:
        if master_key is not None and len(master_key) != 32:
            raise ConfigError("the evidence master key must be 32 bytes")
        self.key_id = key_id(master_key) if master_key is not None else None
        self._key: bytes | None = None
        if master_key is not None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL)
            self._key = hkdf.derive(master_key)

    def _aead(self) -> AESGCM:
        if self._key is None:
            raise ConfigError(
                "SAFESPACE_EVIDENCE_KEY is not set: source credentials are sealed with it, "
                f"never stored in plain text; {_HINT}"
            )
        return AESGCM(self._key)

    def seal(self, source: str, credentials: Mapping[str, str]) -> bytes:
        nonce = os.urandom(_NONCE)
        data = json.dumps(dict(credentials), sort_keys=True).encode()
        return nonce + self._aead().encrypt(nonce, data, _LABEL + source.encode())

    def open(self, source: str, sealed: bytes, sealed_key_id: str | None) -> dict[str, str]:
        aead = self._aead()
        if sealed_key_id != self.key_id:
            raise ConfigError(
                f"the credentials of source {source!r} are sealed under master key "
                f"{sealed_key_id}, this server has {self.key_id}: set the old key back, or "
                "give the source its credentials again"
            )
        try:
            data = aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], _LABEL + source.encode())
        except InvalidTag:
            raise IntegrityFailure(
                f"the sealed credentials of source {source!r} do not open: they were altered "
                "or belong to another source"
            ) from None
        loaded = json.loads(data)
        return {str(k): str(v) for k, v in loaded.items()}
