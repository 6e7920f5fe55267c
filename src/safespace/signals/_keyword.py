"""The keyword signal type: a normalised keyword or phrase, found in texts.

A value is a keyword as Deter normalises search terms (look-alike letters, leetspeak,
spaced-out letters, squeezed repeats; idempotent), so ``Blue  Wh4le`` is stored as
``biue whaie``. Keywords are not matched by equality with a whole message: every keyword
entry of every enabled bank goes into one Aho-Corasick automaton (``IndexKind.KEYWORDS``),
run over the normalised text, and each hit keeps its span in the original text. A keyword
hit is a reason for review and signposting, never for removal on its own (docs/text.md).
"""

from __future__ import annotations

from types import MappingProxyType

from safespace.errors import InvalidSignal
from safespace.signals._types import IndexKind, SignalType, TextSource

__all__ = ["KEYWORD", "KeywordSignalType"]

MAX_KEYWORD = 256  # a bank entry's value column


class KeywordSignalType(SignalType):
    name = "keyword"
    aliases = ("keyword_phrase",)
    description = (
        "a keyword or phrase (Deter-normalised), found in a text by one Aho-Corasick "
        "automaton; for review and signposting, not removal"
    )
    index = IndexKind.KEYWORDS
    text_source = TextSource.WORDS
    free_text = True
    exchange_names = MappingProxyType({"keywords": "keyword"})

    def normalize(self, value: str) -> str:
        from safespace.deter._normalize import normalize_phrase  # lazy: no import cycle

        if not isinstance(value, str):
            raise InvalidSignal(f"{self.name} must be a string")
        if len(value) > 4 * MAX_KEYWORD:
            raise InvalidSignal(f"{self.name} is longer than {MAX_KEYWORD} characters")
        key = normalize_phrase(value)
        if not key:
            raise InvalidSignal(f"{self.name} has no letters or digits: {value[:80]!r}")
        if len(key) > MAX_KEYWORD:
            raise InvalidSignal(f"{self.name} is longer than {MAX_KEYWORD} characters")
        return key


KEYWORD = KeywordSignalType()
