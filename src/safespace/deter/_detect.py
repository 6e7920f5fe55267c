"""What a text is: operator-term hits, the built-in minor+sexual rule, help-seeking.

The built-in rule is made only of generic vocabulary (``rules.yaml``): it fires when a query
refers to a minor (a word such as "child" or "teen", or an age under 18 written as
``12yo``, ``12 y/o``, ``twelve year old``, ``age 12``, ``under 16`` or ``12 girl``) *and*
holds a sexual term. Words that show an educational, medical, legal or news context
("education", "curriculum", "law", "offender") switch the built-in rule off, never an
operator term. Help-seeking phrases come first of all: a person asking how to report abuse,
or worried about their own thoughts, gets help, not a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safespace.deter._normalize import Normalized, normalize, normalize_phrase
from safespace.deter._schema import Node, load_yaml
from safespace.deter._terms import TermHit, TermMatcher

__all__ = ["AUDIENCES", "Detection", "Detector", "HelpRule", "Vocabulary", "load_vocabulary"]

AUDIENCES = frozenset({"self", "child", "family", "professional", "reporter", "survivor", "adult"})

_MINOR, _PERSON, _SEXUAL, _BENIGN, _TOPIC = "minor", "person", "sexual", "benign", "topic"


@dataclass(frozen=True)
class HelpRule:
    """Phrases that show a person seeks help. ``strong`` ones act alone and even over operator
    terms; ``weak`` ones ("report", "training") need the topic in the same query."""

    id: str
    audiences: tuple[str, ...]
    strength: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    rule_id: str
    enabled: bool
    words: dict[str, tuple[str, ...]]  # category -> phrases (as written)
    age_markers: frozenset[str]
    age_prefixes: frozenset[str]
    under_words: frozenset[str]
    number_words: dict[str, int]
    max_age: int
    help_rules: tuple[HelpRule, ...]


_WORD_LISTS = (_MINOR, _PERSON, _SEXUAL, _BENIGN, _TOPIC)


def load_vocabulary(path: Path) -> Vocabulary:
    """Read ``rules.yaml``: the built-in rule's vocabulary and the help-seeking phrases."""
    root = load_yaml(path, kind="rules")
    root.keys({"version", "builtin", "help_seeking"}, frozenset({"builtin", "help_seeking"}))
    b = root.get("builtin")
    list_keys = {f"{name}_words" for name in _WORD_LISTS}
    b.keys(
        {"id", "enabled", "age_markers", "age_prefixes", "under_words", "number_words", "max_age"}
        | list_keys,
        frozenset({"id", "minor_words", "sexual_words"}),
    )
    words: dict[str, tuple[str, ...]] = {
        name: tuple(b.get(f"{name}_words").texts(allow_empty=True)) for name in _WORD_LISTS
    }
    for name in (_MINOR, _SEXUAL):
        if not words[name]:
            raise b.get(f"{name}_words").fail("must not be empty")
    numbers: dict[str, int] = {}
    for word, node in b.get("number_words", {}).items():
        numbers[_digit_key(word, node)] = node.integer(minimum=0, maximum=200)
    help_rules = []
    seen: set[str] = set()
    for node in root.get("help_seeking").seq(allow_empty=False):
        fields = {"id", "audiences", "strength", "phrases"}
        node.keys(fields, frozenset(fields))
        rule_id = node.get("id").ident()
        if rule_id in seen:
            raise node.get("id").fail(f"duplicate help rule id {rule_id!r}")
        seen.add(rule_id)
        audiences = tuple(
            a.choice(set(AUDIENCES)) for a in node.get("audiences").seq(allow_empty=False)
        )
        help_rules.append(
            HelpRule(
                rule_id,
                audiences,
                node.get("strength").choice({"strong", "weak"}),
                tuple(node.get("phrases").texts()),
            )
        )
    for cat, phrases in words.items():
        for i, phrase in enumerate(phrases):
            if not normalize_phrase(phrase):
                raise b.get(f"{cat}_words").seq()[i].fail("has no letters or digits")
    return Vocabulary(
        rule_id=b.get("id").ident(),
        enabled=b.get("enabled", True).boolean(),
        words=words,
        age_markers=frozenset(_digit_keys(b.get("age_markers"))),
        age_prefixes=frozenset(_digit_keys(b.get("age_prefixes"))),
        under_words=frozenset(_digit_keys(b.get("under_words"))),
        number_words=numbers,
        max_age=b.get("max_age", 17).integer(minimum=1, maximum=25),
        help_rules=tuple(help_rules),
    )


def _digit_key(word: str, node: Node) -> str:
    toks = normalize(word).digit_tokens
    if len(toks) != 1:
        raise node.fail(f"{word!r} must be one word")
    return toks[0]


def _digit_keys(node: Node) -> list[str]:
    return [_digit_key(n.text(), n) for n in node.seq()]


@dataclass(frozen=True, slots=True)
class Detection:
    """Everything the rules found in one text."""

    operator: tuple[TermHit, ...] = ()
    builtin: bool = False  # a minor reference and a sexual term
    benign_context: bool = False  # the built-in rule was switched off by context words
    help_rule: HelpRule | None = None
    help_audiences: tuple[str, ...] = ()


_NOTHING = Detection()


class _Entry:
    __slots__ = ("category", "needs_repeat", "rule")

    def __init__(self, category: str, needs_repeat: bool, rule: HelpRule | None = None) -> None:
        self.category = category
        self.needs_repeat = needs_repeat  # "teen" (squeezed "ten") needs a doubled letter
        self.rule = rule


class Detector:
    """Runs operator terms, the built-in rule and help-seeking phrases over normalised text."""

    def __init__(self, vocabulary: Vocabulary, terms: TermMatcher) -> None:
        self.vocabulary = vocabulary
        self.terms = terms
        self._entries: dict[str, list[_Entry]] = {}
        self._phrase_starts: set[str] = set()
        self._max_n = 1
        persons = vocabulary.words.get(_PERSON, ())
        self._person = frozenset(t for w in persons for t in normalize(w).digit_tokens[:1])
        for cat, phrases in vocabulary.words.items():
            for phrase in phrases:
                self._add(phrase, cat, None)
        for rule in vocabulary.help_rules:
            for phrase in rule.phrases:
                self._add(phrase, "help", rule)

    def _add(self, phrase: str, category: str, rule: HelpRule | None) -> None:
        norm = normalize(phrase)
        key = norm.text
        if not key:
            return
        n = len(norm.tokens)
        needs_repeat = n == 1 and norm.raw_tokens[0] != key
        self._entries.setdefault(key, []).append(_Entry(category, needs_repeat, rule))
        if n > 1:
            self._phrase_starts.add(norm.tokens[0])
            self._max_n = max(self._max_n, n)

    def _vocab_hits(self, norm: Normalized) -> list[_Entry]:
        found: list[_Entry] = []
        tokens, raw, entries = norm.tokens, norm.raw_tokens, self._entries
        count = len(tokens)
        for i, tok in enumerate(tokens):
            for entry in entries.get(tok, ()):
                if entry.needs_repeat and raw[i] == tok:
                    continue  # "ten" is not "teen"
                found.append(entry)
            if tok in self._phrase_starts:
                for n in range(2, min(self._max_n, count - i) + 1):
                    found.extend(entries.get(" ".join(tokens[i : i + n]), ()))
        return found

    def _minor_age(self, norm: Normalized) -> bool:
        """An age under the limit in a written form that reads as an age (see the module doc)."""
        v = self.vocabulary
        toks = norm.digit_tokens
        person = self._person
        for i, tok in enumerate(toks):
            if tok.isdecimal():
                if len(tok) > 2:
                    continue
                age = int(tok)
            elif tok in v.number_words:
                age = v.number_words[tok]
            else:
                continue
            prev = toks[i - 1] if i else ""
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            if prev in v.under_words and 1 < age <= v.max_age + 1:
                return True
            if not 0 < age <= v.max_age:
                continue
            if nxt in v.age_markers or prev in v.age_prefixes or nxt in person:
                return True
        return False

    def detect(self, text: str) -> Detection:
        norm = normalize(text)
        if not norm.tokens:
            return _NOTHING
        operator = self.terms.find(norm)
        hits = self._vocab_hits(norm)
        cats = {e.category for e in hits}
        minor = _MINOR in cats
        sexual = _SEXUAL in cats
        builtin = False
        if self.vocabulary.enabled and sexual:
            builtin = minor or self._minor_age(norm)
        benign = builtin and _BENIGN in cats
        topic = minor or sexual or _TOPIC in cats or bool(operator)
        rule: HelpRule | None = None
        audiences: list[str] = []
        for strength in ("strong", "weak"):
            for e in hits:
                if e.rule is None or e.rule.strength != strength:
                    continue
                if strength == "weak" and (not topic or operator):
                    continue
                rule = rule or e.rule
                audiences.extend(a for a in e.rule.audiences if a not in audiences)
            if rule is not None:
                break
        if not operator and not builtin and rule is None:
            return _NOTHING
        return Detection(operator, builtin and not benign, benign, rule, tuple(audiences))
