"""Matching a text (a post, a comment, a message) against the URL and keyword banks.

Which types take part, and how, comes from the signal type registry (``text_source``):

- ``TextSource.LINKS`` types (listed URL expressions, plain or as SHA-256): every link in
  the text, however hidden (:func:`safespace.text.extract_urls`), is looked up by each of its
  Safe Browsing host-suffix/path-prefix expressions, whose SHA-256 is the key those types'
  exact tables hold; a plain and a hashed bank of the same expressions give the same answers.
- ``TextSource.WORDS`` types (``IndexKind.KEYWORDS``): one Aho-Corasick automaton over
  every keyword entry of every enabled bank (:class:`WordIndex`), run over the text after
  Deter's normalisation; each hit keeps its span in the original text.

Nothing here keeps the text: a :class:`TextMatch` holds the bank entry (the listed
expression, its hash or the keyword) and the span (``start``, ``end``) only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safespace.banks._match_results import Match
from safespace.errors import InvalidInput
from safespace.signals import TextSource, signal_types_in_text

if TYPE_CHECKING:
    from safespace.text import KeywordMatcher

__all__ = ["MAX_TEXT_CHARS", "TextMatch", "TextMatchResult", "WordIndex", "match_text"]

MAX_TEXT_CHARS = 100_000
"""The longest text matched in one call (a post or message, not a document)."""

_LINK_TYPES = tuple(t.name for t in signal_types_in_text(TextSource.LINKS))


@dataclass(frozen=True)
class TextMatch:
    """One bank entry found in a text, and where: ``text[start:end]`` is what matched.

    ``via`` is the redirect wrapper's host a link was found inside; ``exact_span`` is False
    when a keyword's span could not be narrowed down and covers the whole text.
    """

    match: Match
    start: int
    end: int
    via: str | None = None
    exact_span: bool = True

    def to_dict(self) -> dict[str, Any]:
        out = self.match.to_dict()
        del out["distance"]
        out.update(start=self.start, end=self.end, via=self.via, exact_span=self.exact_span)
        return out


@dataclass(frozen=True)
class TextMatchResult:
    """Text matches in normal banks, in allow banks, and the normal ones an allow-bank
    match over the same stretch of text set aside."""

    matches: tuple[TextMatch, ...] = ()
    allowed: tuple[TextMatch, ...] = ()
    suppressed: tuple[TextMatch, ...] = ()

    @property
    def matched(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "matches": [m.to_dict() for m in self.matches],
            "allowed": [m.to_dict() for m in self.allowed],
            "suppressed": [m.to_dict() for m in self.suppressed],
        }


class WordIndex:
    """Keyword entries (entry id -> normalised keyword) and their automaton, built on the
    first search after a change. The matcher calls it under its lock."""

    __slots__ = ("_automaton", "_values")

    def __init__(self) -> None:
        self._values: dict[int, str] = {}
        self._automaton: tuple[KeywordMatcher, dict[str, list[int]]] | None = None

    def __len__(self) -> int:
        return len(self._values)

    def add(self, entry_id: int, keyword: str) -> None:
        if self._values.get(entry_id) != keyword:
            self._values[entry_id] = keyword
            self._automaton = None

    def discard(self, ids: Iterable[int]) -> None:
        if not self._values:
            return
        for entry_id in ids:
            if self._values.pop(int(entry_id), None) is not None:
                self._automaton = None

    def find(self, text: str) -> list[tuple[int, int, int, bool]]:
        """(entry id, start, end, exact span) of every keyword hit in ``text``."""
        if not self._values or not text:
            return []
        built = self._automaton
        if built is None:
            built = self._automaton = self._build()
        keywords, owners = built
        return [
            (entry_id, hit.start, hit.end, hit.exact_span)
            for hit in keywords.match(text)
            for entry_id in owners[hit.rule_id]
        ]

    def _build(self) -> tuple[KeywordMatcher, dict[str, list[int]]]:
        from safespace.text import KeywordList, KeywordMatcher  # lazy: Deter's automaton

        by_key: dict[str, list[int]] = {}
        for entry_id, keyword in self._values.items():
            by_key.setdefault(keyword, []).append(entry_id)
        keys = list(by_key)
        words = KeywordList.from_terms("kw", keys)
        owners = {t.rule_id: by_key[k] for t, k in zip(words.terms, keys, strict=True)}
        return KeywordMatcher([words]), owners


def match_text(matcher: Any, text: str, banks: Sequence[str] | None = None) -> TextMatchResult:
    """Every listed link and keyword in ``text``, with spans; see :meth:`Matcher.match_text`
    (``matcher`` is that Matcher, untyped here so this module does not import its caller)."""
    from safespace.text._canonical import expression_hash, lookup_expressions
    from safespace.text._extract import extract_urls

    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"text is longer than {MAX_TEXT_CHARS:,} characters")
    links = extract_urls(text) if _LINK_TYPES else []
    digests = [
        (link, [expression_hash(e) for e in lookup_expressions(link.canonical)]) for link in links
    ]
    hits: dict[tuple[int, int, int], TextMatch | None] = {}  # (entry, start, end) -> later
    spans: list[tuple[int, int, int, str | None, bool]] = []
    with matcher._lock:
        bank_map = matcher._banks
        wanted = matcher._wanted(banks)
        entries = matcher._entries
        for link, keys in digests:
            for digest in keys:
                for signal_type in _LINK_TYPES:
                    for entry_id in entries.key_ids(signal_type, digest):
                        spans.append((entry_id, link.start, link.end, link.via, True))
        for entry_id, start, end, exact in entries.words.find(text):
            spans.append((entry_id, start, end, None, exact))
        owner = {}
        for entry_id, *_ in spans:
            bank_id = entries.bank_of(entry_id)
            if bank_id in wanted:
                owner[entry_id] = bank_id
    best = dict.fromkeys(owner, (0, ""))
    found = matcher._details(best, owner, bank_map) or []
    by_entry = {m.entry_id: m for m in found}
    out: list[TextMatch] = []
    for entry_id, start, end, via, exact in spans:
        m = by_entry.get(entry_id)
        if m is None or (entry_id, start, end) in hits:
            continue
        hits[(entry_id, start, end)] = None
        out.append(TextMatch(m, start, end, via, exact))
    return _result(out)


def _result(found: list[TextMatch]) -> TextMatchResult:
    found.sort(key=lambda t: (t.start, t.end, t.match.bank, t.match.entry_id))
    allowed = [t for t in found if t.match.bank_kind == "allow"]
    normal = [t for t in found if t.match.bank_kind != "allow"]
    if not allowed:
        return TextMatchResult(tuple(normal))
    kept: list[TextMatch] = []
    suppressed: list[TextMatch] = []
    for t in normal:
        covered = any(a.start < t.end and t.start < a.end for a in allowed)
        (suppressed if covered else kept).append(t)
    return TextMatchResult(tuple(kept), tuple(allowed), tuple(suppressed))
