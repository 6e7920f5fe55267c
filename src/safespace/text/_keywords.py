"""Keyword lists matched in posts, with Deter's normaliser and Aho-Corasick term matcher.

Matching is Deter's, unchanged: the post goes through :func:`safespace.deter.normalize`
(look-alikes, leetspeak, spaced-out letters, squeezed repeats) and the terms through the
same function, and one :class:`TermMatcher` automaton finds them all. What this module
adds is the way back: each hit's span in the *original* post, so a reviewer sees which
characters matched. The spans come from re-reading the post word by word with the same
folding, token and leetspeak steps Deter uses, keeping offsets, and are only trusted when
that reading gives exactly Deter's normalised text; otherwise (rare, e.g. letters that only
join up after a second pass) a hit's span is the whole post and ``exact_span`` is False.

A keyword hit is a reason for review and signposting, never for removal on its own: a word
says nothing certain about what a post is (quotes, reporting, education, survivors).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick
import numpy as np

from safespace.deter._normalize import (
    _SQUEEZE,
    _SYMBOLS_ONLY,
    _TOKEN,
    _leet,
    fold,
    normalize,
    normalize_phrase,
)
from safespace.deter._terms import MATCH_MODES, Term, TermList, TermMatcher
from safespace.errors import InvalidInput

__all__ = ["KeywordList", "KeywordMatch", "KeywordMatcher"]

_MAX_TERM_CHARS = 500
_MAX_SPANS_PER_HIT = 16

# The pre-scan (see _skeleton): Deter's leetspeak table, applied to every character.
_CLASSES = str.maketrans(
    {"0": "o", "1": "i", "l": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a",
     "5": "s", "$": "s", "7": "t", "8": "b", "9": "g"}
)  # fmt: skip
_TRAILING_BANGS = re.compile(r"!+(?![^\W_])")  # "wow!" reads as "wow", as Deter reads it
_NOT_WORD = re.compile(r"[\W_]+")
_REPEAT = re.compile(r"(?<=(.))\1", re.DOTALL)  # a character equal to the one before it
# ASCII texts take a bytes path: one translate maps leetspeak and drops separators.
_ASCII_WORD = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!"
_ASCII_TABLE = (
    bytes(range(256))
    .translate(bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"))
    .translate(bytes.maketrans(b"01l!|34@5$789", b"oiiiieaasstbg"))
)
_ASCII_DROP = bytes(b for b in range(256) if b not in _ASCII_WORD)
_ASCII_TRAILING_BANGS = re.compile(rb"!+(?![A-Za-z0-9])")
_ASCII_REPEAT = re.compile(rb"(?<=(.))\1", re.DOTALL)
_ASCII_NOT_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_NON_ASCII_CHAR = re.compile(r"[^\x00-\x7f]")


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """One keyword found in a post: its rule id, normalised key and span; never the post."""

    rule_id: str
    #: the keyword's normalised form (the matching key), not the post's words
    keyword: str
    category: str
    start: int
    end: int
    #: False when the span could not be narrowed down and covers the whole post
    exact_span: bool = True


@dataclass(frozen=True)
class KeywordList:
    """A named keyword list; ``terms`` are Deter terms (normalised keys, rule ids)."""

    id: str
    terms: tuple[Term, ...]

    @classmethod
    def from_terms(
        cls,
        list_id: str,
        terms: Iterable[str],
        *,
        match: str = "word",
        category: str = "default",
    ) -> KeywordList:
        """Terms numbered from 1 (rule ids ``LIST:N``), normalised as Deter normalises."""
        if match not in MATCH_MODES:
            raise InvalidInput(f"match must be one of {sorted(MATCH_MODES)}")
        out: list[Term] = []
        for i, term in enumerate(terms, start=1):
            if len(term) > _MAX_TERM_CHARS:
                raise InvalidInput(f"{list_id}: term {i} is longer than {_MAX_TERM_CHARS}")
            key = normalize_phrase(term)
            if not key:
                raise InvalidInput(f"{list_id}: term {i} has no letters or digits")
            out.append(Term(f"{list_id}:{i}", key, category, match))
        return cls(list_id, tuple(out))


def _skeleton(text: str) -> str | None:
    """The pre-scan's view of a text: folded, leetspeak read, separators removed, repeats
    squeezed; None when a quick look cannot be trusted (``@``, ``$``, ``|``, which Deter
    drops when they stand alone and reads as letters otherwise).

    Every step of Deter's normaliser either keeps a character in its class here (folding,
    leetspeak, ``l`` as ``i``), deletes it (separators, lone symbols, a trailing ``!``) or
    squeezes a run, and a keyword hit needs the keyword's letters side by side, in order, in
    the normalised text. So when a keyword matches a text, the keyword's skeleton is a
    substring of the text's: no keyword skeleton in the text's skeleton means no hit.
    """
    if text.isascii():
        data = text.encode("ascii")
        if b"@" in data or b"$" in data or b"|" in data:
            return None
        if b"!" in data:
            data = _ASCII_TRAILING_BANGS.sub(b"", data)
        data = _squeeze(data.translate(_ASCII_TABLE, _ASCII_DROP))
        return data.decode("ascii")
    folded = _fold_words(text)
    if "@" in folded or "$" in folded or "|" in folded:
        return None
    if "!" in folded:
        folded = _TRAILING_BANGS.sub("", folded).replace("!", "i")
    words = _drop_separators(folded)
    if words.isascii():  # the usual case once accents are gone: the bytes path again
        return _squeeze(words.encode("ascii").translate(_ASCII_TABLE)).decode()
    return _REPEAT.sub("", words.translate(_CLASSES))


def _squeeze(data: bytes) -> bytes:
    """``data`` with every byte equal to the one before it removed (``_ASCII_REPEAT``'s
    substitution, done by NumPy: several times quicker on a post)."""
    if len(data) < 2:
        return data
    a = np.frombuffer(data, np.uint8)
    keep = np.empty(a.size, np.bool_)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep].tobytes()


def _drop_separators(text: str) -> str:
    """``_NOT_WORD.sub("", text)``: ASCII separators dropped by a byte table (UTF-8 keeps
    every other character's bytes at 0x80 and above), the regular expression run only over
    what is left that is not ASCII (an emoji, a letter fold kept)."""
    kept = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_NOT_ALNUM)
    words = kept.decode("utf-8", "surrogatepass")
    if words.isascii():
        return words
    return _NON_ASCII_RUN.sub(_drop_not_word, words)


def _drop_not_word(m: re.Match[str]) -> str:
    return _NOT_WORD.sub("", m.group())


def _fold_words(text: str) -> str:
    """``fold(text)``, folding only the words that are not ASCII (the others are lower-cased).

    Deter's fold (NFKC, NFD, look-alikes, case folding, repeated until it settles) works
    word by word across an ASCII space: a space never composes with a neighbour, and the
    look-alike table and case folding map one character at a time. A post with one emoji or
    accent used to be folded whole, twice; now only that word is, found from its non-ASCII
    characters (tests/text checks that the two agree).
    """
    if " " not in text:
        return fold(text)
    pieces: list[str] = []
    last = 0
    for m in _NON_ASCII_CHAR.finditer(text):
        at = m.start()
        if at < last:
            continue  # in the word just folded
        start = text.rfind(" ", 0, at) + 1
        end = text.find(" ", at)
        if end < 0:
            end = len(text)
        pieces.append(text[last:start].lower())
        pieces.append(fold(text[start:end]))
        last = end
    pieces.append(text[last:].lower())
    return "".join(pieces)


def _folded_chars(text: str) -> tuple[str, list[int]]:
    """``text`` folded as Deter folds it, and for each folded character its original index."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    chars: list[str] = []
    owner: list[int] = []
    for i, ch in enumerate(text):
        folded = ch.lower() if ch.isascii() else fold(ch)
        chars.append(folded)
        owner.extend([i] * len(folded))
    return "".join(chars), owner


def _tracked_tokens(text: str) -> list[tuple[str, int, int]]:
    """Deter's words of ``text`` (before leetspeak), each with its original span.

    Follows Deter's word splitting: a run of one-character words with even spacing becomes
    one word (``s e x``), and a wider gap ends the run.
    """
    folded, owner = _folded_chars(text)
    out: list[tuple[str, int, int]] = []
    run: list[tuple[str, int, int]] = []
    gap = 0
    end = 0

    def flush() -> None:
        out.append(("".join(t for t, _, _ in run), run[0][1], run[-1][2]))
        run.clear()

    for m in _TOKEN.finditer(folded):
        tok = m.group()
        span = (owner[m.start()], owner[m.end() - 1] + 1)
        sep = m.start() - end
        end = m.end()
        if len(tok) == 1:
            if len(run) == 1:
                gap = sep
            elif len(run) > 1 and sep > gap:
                flush()
            run.append((tok, *span))
            continue
        if run:
            flush()
        out.append((tok, *span))
    if run:
        flush()
    return [t for t in out if not _SYMBOLS_ONLY.fullmatch(t[0])]


class KeywordMatcher:
    """Keyword lists in one Deter :class:`TermMatcher`; hits come back with their spans."""

    __slots__ = ("_keys", "_matcher", "_prescan", "size")

    def __init__(self, lists: Iterable[KeywordList]) -> None:
        lists = list(lists)
        self._matcher = TermMatcher(TermList(kl.id, kl.id, kl.terms) for kl in lists)
        self._keys = {t.rule_id: (t.key, t.match) for kl in lists for t in kl.terms}
        self.size = self._matcher.size
        # One automaton over every keyword's skeleton: a text whose skeleton holds none of
        # them cannot match (see _skeleton), so it skips Deter's normaliser, the slow part.
        skeletons = {s for key, _ in self._keys.values() if (s := _skeleton(key))}
        self._prescan: ahocorasick.Automaton | None = None
        if skeletons and all(_skeleton(key) for key, _ in self._keys.values()):
            self._prescan = ahocorasick.Automaton()
            for s in skeletons:
                self._prescan.add_word(s, None)
            self._prescan.make_automaton()

    def could_match(self, text: str) -> bool:
        """False only when no keyword can match ``text`` (the pre-scan); True otherwise."""
        if self._prescan is None:
            return bool(self._keys)
        skeleton = _skeleton(text)
        if skeleton is None:
            return True
        return any(True for _ in self._prescan.iter(skeleton))

    def match(self, text: str) -> list[KeywordMatch]:
        """Every keyword hit in ``text`` with its span(s) in ``text``."""
        if not self.could_match(text):
            return []
        norm = normalize(text)
        hits = self._matcher.find(norm)
        if not hits:
            return []
        tokens = _tracked_tokens(text)
        keys = [_SQUEEZE.sub(r"\1", _leet(t)) for t, _, _ in tokens]
        out: list[KeywordMatch] = []
        for hit in hits:
            key, mode = self._keys[hit.rule_id]
            spans = _spans(key, mode, keys, tokens)
            if not spans:
                out.append(KeywordMatch(hit.rule_id, key, hit.category, 0, len(text), False))
            for start, end in spans:
                out.append(KeywordMatch(hit.rule_id, key, hit.category, start, end))
        return out


def _spans(
    key: str, mode: str, keys: list[str], tokens: list[tuple[str, int, int]]
) -> list[tuple[int, int]]:
    """Where ``key`` occurs among the words, as original spans."""
    # word offsets in the joined text: words joined by one space (word mode) or none
    sep = " " if mode == "word" else ""
    starts: list[int] = []
    pos = 0
    for k in keys:
        starts.append(pos)
        pos += len(k) + len(sep)
    haystack = sep.join(keys)
    needle = key if mode == "word" else key.replace(" ", "")
    spans: list[tuple[int, int]] = []
    at = 0
    while len(spans) < _MAX_SPANS_PER_HIT:
        if mode == "word":
            found = f" {haystack} ".find(f" {needle} ", at)
        else:
            found = haystack.find(needle, at)
        if found < 0:
            break
        first = _word_at(starts, found)
        last = _word_at(starts, found + len(needle) - 1)
        spans.append((tokens[first][1], tokens[last][2]))
        at = found + 1
    return spans


def _word_at(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1
