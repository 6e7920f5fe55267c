"""Operator term lists: load them from files and match them all in one pass.

A list is plain text (one term per line, ``#`` comments) or YAML with ids and categories.
Terms are normalised like queries (see :mod:`.normalize`), so one entry catches its spaced,
leetspeak and look-alike spellings. Matching uses an Aho-Corasick automaton, so the cost
of a query does not grow with the number of terms (100,000 is routine).

Rule ids name the list and the entry (``iwf-keywords:17``), never the term itself: term
lists are often confidential, and ids end up in logs and events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from safespace.deter._normalize import Normalized, normalize_phrase
from safespace.deter._schema import load_yaml, read_text
from safespace.errors import ConfigError

__all__ = ["MATCH_MODES", "Term", "TermHit", "TermList", "TermMatcher", "load_term_file"]

MATCH_MODES = frozenset({"word", "substring"})
_MAX_TERM_CHARS = 500
_MAX_HITS = 16


@dataclass(frozen=True, slots=True)
class Term:
    """One entry: ``key`` is the normalised form that is matched."""

    rule_id: str
    key: str
    category: str
    match: str = "word"


@dataclass(frozen=True, slots=True)
class TermHit:
    rule_id: str
    category: str


@dataclass(frozen=True)
class TermList:
    id: str
    source: str
    terms: tuple[Term, ...]


def _list_id(path: Path) -> str:
    stem = path.stem.lower()
    if not stem or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in stem):
        raise ConfigError(f"{path}: file name must give a list id of a-z, 0-9, '-', '_', '.'")
    return stem


def _key(term: str, where: str) -> str:
    if len(term) > _MAX_TERM_CHARS:
        raise ConfigError(f"{where}: term longer than {_MAX_TERM_CHARS} characters")
    key = normalize_phrase(term)
    if not key:
        raise ConfigError(f"{where}: term has no letters or digits")
    return key


def _load_text(path: Path) -> TermList:
    list_id = _list_id(path)
    terms: list[Term] = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key = _key(text, f"{path}: line {lineno}")
        terms.append(Term(f"{list_id}:{lineno}", key, "default"))
    return TermList(list_id, str(path), tuple(terms))


def _load_yaml(path: Path) -> TermList:
    root = load_yaml(path, kind="term list")
    root.keys({"version", "id", "category", "match", "terms"}, frozenset({"terms"}))
    list_id = root.get("id").ident() if root.get("id").value is not None else _list_id(path)
    category = root.get("category", "default").ident()
    default_match = root.get("match", "word").choice(set(MATCH_MODES))
    terms: list[Term] = []
    seen: set[str] = set()
    for i, node in enumerate(root.get("terms").seq()):
        entry_id, cat, mode = str(i + 1), category, default_match
        if isinstance(node.value, str):
            text = node.text()
        else:
            node.keys({"id", "term", "category", "match"}, frozenset({"term"}))
            text = node.get("term").text()
            if node.get("id").value is not None:
                entry_id = node.get("id").ident()
            if node.get("category").value is not None:
                cat = node.get("category").ident()
            if node.get("match").value is not None:
                mode = node.get("match").choice(set(MATCH_MODES))
        if entry_id in seen:
            raise node.fail(f"duplicate term id {entry_id!r}")
        seen.add(entry_id)
        key = _key(text, f"{node.file}: {node.path}")
        terms.append(Term(f"{list_id}:{entry_id}", key, cat, mode))
    return TermList(list_id, str(path), tuple(terms))


def load_term_file(path: Path) -> TermList:
    """Load one list: ``.txt`` (one term a line) or ``.yaml``/``.yml``."""
    suffix = path.suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return _load_yaml(path)
    if suffix == ".txt":
        return _load_text(path)
    raise ConfigError(f"{path}: a term list must be .txt, .yaml or .yml")


class TermMatcher:
    """All operator terms in two automata: whole words (the default) and substrings."""

    __slots__ = ("_substring", "_word", "size")

    def __init__(self, lists: Iterable[TermList]) -> None:
        word: dict[str, list[TermHit]] = {}
        sub: dict[str, list[TermHit]] = {}
        seen_lists: set[str] = set()
        for tl in lists:
            if tl.id in seen_lists:
                raise ConfigError(f"{tl.source}: two term lists share the id {tl.id!r}")
            seen_lists.add(tl.id)
            for term in tl.terms:
                if term.match == "word":
                    word.setdefault(f" {term.key} ", []).append(
                        TermHit(term.rule_id, term.category)
                    )
                else:
                    key = term.key.replace(" ", "")
                    sub.setdefault(key, []).append(TermHit(term.rule_id, term.category))
        self.size = sum(map(len, word.values())) + sum(map(len, sub.values()))
        self._word = _automaton(word)
        self._substring = _automaton(sub)

    def find(self, norm: Normalized) -> tuple[TermHit, ...]:
        """Hits in order of where they end in the text, at most a handful, without repeats."""
        if not norm.text:
            return ()
        hits: list[TermHit] = []
        if self._word is not None:
            for _, found in self._word.iter(f" {norm.text} "):
                hits.extend(found)
                if len(hits) >= _MAX_HITS:
                    break
        if self._substring is not None and len(hits) < _MAX_HITS:
            for _, found in self._substring.iter(norm.text.replace(" ", "")):
                hits.extend(found)
                if len(hits) >= _MAX_HITS:
                    break
        if len(hits) > 1:
            hits = list(dict.fromkeys(hits))
        return tuple(hits[:_MAX_HITS])


def _automaton(entries: dict[str, list[TermHit]]) -> ahocorasick.Automaton | None:
    if not entries:
        return None
    auto = ahocorasick.Automaton()
    for key, hits in entries.items():
        auto.add_word(key, tuple(hits))
    auto.make_automaton()
    return auto
