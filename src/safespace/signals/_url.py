"""The URL-list signal types: a listed URL expression, and the SHA-256 of one.

Hotlines distribute lists of page-level URLs (the IWF URL List) either plainly or hashed, so
the operator never holds the plain URLs. Both types stand for the same thing, a Safe
Browsing expression (``host/path[?query]``, canonical, no scheme), and both are kept in
exact tables under the expression's SHA-256 (:meth:`~SignalType.key`), so a bank of either
matches a link the same way: every host-suffix/path-prefix expression of a link found in a
text (:mod:`safespace.text`) is hashed once and looked up in both. Neither is computed from
media; both are only imported or added.
"""

from __future__ import annotations

import hashlib
from types import MappingProxyType

from safespace.errors import InvalidInput, InvalidSignal
from safespace.signals._types import HexSignalType, IndexKind, SignalType, TextSource

__all__ = ["URL", "URL_SHA256", "UrlSha256SignalType", "UrlSignalType"]

MAX_EXPRESSION = 256  # a bank entry's value column; longer pages go in hashed lists


class UrlSignalType(SignalType):
    name = "url"
    aliases = ("url_expression",)
    description = (
        "a listed URL expression (host, optional path prefix), matched against the links in "
        "a text by Safe Browsing host-suffix/path-prefix lookups"
    )
    index = IndexKind.EXACT
    text_source = TextSource.LINKS
    exchange_names = MappingProxyType({"threatexchange": "url", "urls": "url"})

    @property
    def width(self) -> int:
        return 32  # exact tables hold the expression's SHA-256

    def normalize(self, value: str) -> str:
        """The canonical expression of a URL as a hotline writes it (scheme optional)."""
        from safespace.text._urllist import listed_expression  # lazy: no import cycle

        if not isinstance(value, str):
            raise InvalidSignal(f"{self.name} must be a string (a URL)")
        text = value.strip()
        if not text:
            raise InvalidSignal(f"{self.name} is empty: give a URL such as example.org/page")
        if any(ch.isspace() for ch in text):
            raise InvalidSignal(f"{self.name} must not contain spaces: {text[:80]!r}")
        try:
            expression = listed_expression(text)
        except (InvalidInput, ValueError, UnicodeError):
            raise InvalidSignal(f"{self.name} is not a URL with a host: {text[:80]!r}") from None
        if "." not in expression.split("/", 1)[0]:
            raise InvalidSignal(f"{self.name} host has no dot: {text[:80]!r}")
        if len(expression) > MAX_EXPRESSION:
            raise InvalidSignal(
                f"{self.name} expression is {len(expression)} characters, longer than "
                f"{MAX_EXPRESSION}: list it hashed (its SHA-256)"
            )
        return expression

    def key(self, value: str) -> bytes:
        return hashlib.sha256(value.encode("utf-8")).digest()


class UrlSha256SignalType(HexSignalType):
    name = "url_sha256"
    aliases = ("url-sha256",)
    description = (
        "SHA-256 of a listed URL expression, as hashed URL lists ship; matched like a plain "
        "URL expression"
    )
    hex_length = 64
    index = IndexKind.EXACT
    text_source = TextSource.LINKS
    exchange_names = MappingProxyType({"urls-sha256": "url_sha256"})


URL = UrlSignalType()
URL_SHA256 = UrlSha256SignalType()
