"""A list of URL expressions, plain or as SHA-256, and matching links against it.

A listed entry is an expression as Safe Browsing defines it (``host/path[?query]``, no
scheme). A plain entry is written as a URL and canonicalised; a hashed entry is the SHA-256
of such an expression, so an operator given a hashed list never holds the plain URLs. A
link matches when any of its expressions (:func:`url_expressions`) is listed, plainly or by
hash: a listed page therefore matches with other query strings and fragments, with and
without ``www.``, and a listed host (``example.org/``) matches every page on it, while an
unlisted page on a listed page's host does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from safespace.errors import InvalidInput
from safespace.text._canonical import (
    CanonicalUrl,
    canonicalize,
    expression_hash,
    lookup_expressions,
    lookup_hosts,
    lookup_paths,
)
from safespace.text._extract import ExtractedUrl, extract_urls
from safespace.text._hosts import ListedHosts

__all__ = ["UrlList", "UrlMatch", "listed_expression"]

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class UrlMatch:
    """One link in a text that is on the list. Holds no text beyond the listed expression."""

    #: the listed expression that matched (``host/path``)
    expression: str
    #: SHA-256 of the expression, hex: what a hashed list holds
    sha256: str
    #: "plain" or "sha256": which part of the list it matched
    listed_as: str
    start: int
    end: int
    #: the redirect wrapper's host the link was found through, if any
    via: str | None = None


def listed_expression(url: str) -> str:
    """The expression a listed URL stands for: its canonical host, path and query."""
    canon = canonicalize(url.strip())
    if not canon.host:
        raise InvalidInput(f"not a URL with a host: {url[:200]!r}")
    query = "" if canon.query is None else "?" + canon.query
    return f"{canon.host}{canon.path}{query}"


class UrlList:
    """Listed expressions (plain and/or SHA-256), looked up the way Safe Browsing looks up."""

    __slots__ = ("_hashes", "_hosts", "_plain")

    def __init__(self, expressions: Iterable[str] = (), hashes: Iterable[bytes | str] = ()):
        self._plain: set[str] = set()
        self._hosts = ListedHosts()  # the hosts of plain expressions: most links need no more
        self._hashes: set[bytes] = set()
        for expression in expressions:
            self.add_expression(expression)
        for digest in hashes:
            self.add_hash(digest)

    @classmethod
    def from_urls(cls, urls: Iterable[str]) -> UrlList:
        """A plain list from URLs as a hotline writes them (with or without scheme)."""
        out = cls()
        for url in urls:
            out.add_url(url)
        return out

    def add_url(self, url: str) -> str:
        expression = listed_expression(url)
        self._plain.add(expression)
        self._hosts.add(expression.partition("/")[0])
        return expression

    def add_expression(self, expression: str) -> None:
        """Add an expression exactly as given (already ``host/path``, as lists carry them)."""
        if not expression or "/" not in expression:
            raise InvalidInput(f"an expression is host/path: {expression[:200]!r}")
        self._plain.add(expression)
        self._hosts.add(expression.partition("/")[0])

    def add_hash(self, digest: bytes | str) -> None:
        if isinstance(digest, str):
            if not _HEX64.match(digest.strip()):
                raise InvalidInput(f"not a SHA-256 in hex: {digest[:80]!r}")
            digest = bytes.fromhex(digest.strip())
        if len(digest) != 32:
            raise InvalidInput("a SHA-256 is 32 bytes")
        self._hashes.add(digest)

    def __len__(self) -> int:
        return len(self._plain) + len(self._hashes)

    def _match(self, canon: CanonicalUrl) -> Iterator[tuple[str, bytes, str]]:
        plain, hashes = self._plain, self._hashes
        if not hashes:  # a plain list: only the listed hosts' paths are worth forming
            paths: list[str] | None = None
            for host in lookup_hosts(canon):
                if host in self._hosts:
                    paths = paths if paths is not None else lookup_paths(canon)
                    for path in paths:
                        expression = host + path
                        if expression in plain:
                            yield expression, expression_hash(expression), "plain"
            return
        for expression in lookup_expressions(canon):
            digest = None
            if expression in plain:
                digest = expression_hash(expression)
                yield expression, digest, "plain"
            if hashes:
                digest = digest or expression_hash(expression)
                if digest in hashes:
                    yield expression, digest, "sha256"

    def match_url(self, url: str | CanonicalUrl) -> list[UrlMatch]:
        """The listed expressions a single URL matches (span: the whole of ``url``)."""
        canon = url if isinstance(url, CanonicalUrl) else canonicalize(url)
        end = len(url) if isinstance(url, str) else 0
        return [UrlMatch(e, d.hex(), kind, 0, end) for e, d, kind in self._match(canon)]

    def match_links(self, links: Iterable[ExtractedUrl]) -> list[UrlMatch]:
        out: list[UrlMatch] = []
        seen: set[tuple[str, str, int, int]] = set()
        hosts = None if self._hashes else self._hosts
        for link in links:
            if hosts is not None and not any(h in hosts for h in lookup_hosts(link.canonical)):
                continue  # a plain list without this link's hosts: nothing to form
            for expression, digest, kind in self._match(link.canonical):
                key = (expression, kind, link.start, link.end)
                if key not in seen:
                    seen.add(key)
                    out.append(
                        UrlMatch(expression, digest.hex(), kind, link.start, link.end, link.via)
                    )
        return out

    def match_text(self, text: str, *, extra_tlds: frozenset[str] = frozenset()) -> list[UrlMatch]:
        """Every listed link in ``text``, however hidden, with its span in ``text``."""
        hosts = None if self._hashes else self._hosts
        links = extract_urls(text, extra_tlds=extra_tlds, hosts=hosts)
        return self.match_links(links) if links else []
