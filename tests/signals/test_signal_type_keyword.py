"""The keyword signal type against the signal type contract: values are Deter-normalised
keywords, found in texts by one automaton (``IndexKind.KEYWORDS``), never by equality."""

from __future__ import annotations

import random

from hypothesis import strategies as st
from signal_type_contract import SignalTypeContract

from safespace.signals import KEYWORD, IndexKind
from safespace.text import KeywordList, KeywordMatcher

_WORD = st.text("abcdefghjkmnpqrtuvwxyz", min_size=2, max_size=8)


class TestKeywordContract(SignalTypeContract):
    signal_type = KEYWORD
    invalid = (
        ("", "no letters or digits"),
        ("  --  ", "no letters or digits"),
        ("a" * 2000, "longer than"),
        (7, "string"),
    )

    def canonical_values(self) -> st.SearchStrategy[str]:
        # letters Deter's normaliser leaves alone (no look-alikes such as l/i, o/0)
        return st.lists(_WORD, min_size=1, max_size=3).map(" ".join).map(KEYWORD.normalize)

    def random_value(self, rng: random.Random) -> str:
        return KEYWORD.normalize(f"placeholder-term-{rng.randrange(10**6)}")

    def spellings(self, canonical: str) -> st.SearchStrategy[str]:
        return st.sampled_from(
            [canonical, canonical.upper(), f"  {canonical}  ", canonical.replace(" ", "   ")]
        )

    def check_keyword_index(self, rng: random.Random) -> None:
        keywords = list(dict.fromkeys(self.random_value(rng) for _ in range(200)))
        matcher = KeywordMatcher([KeywordList.from_terms("kw", keywords)])
        for _ in range(50):
            planted = rng.sample(keywords, rng.randrange(0, 3))
            words = ["hello", "weather", *(p.upper() for p in planted), "thanks"]
            text = " ".join(words)
            found = {k.keyword for k in matcher.match(text)}
            assert found == set(planted)
            for hit in matcher.match(text):
                assert KEYWORD.normalize(text[hit.start : hit.end]) == hit.keyword


def test_keywords_are_searched_in_text_not_compared() -> None:
    assert KEYWORD.index is IndexKind.KEYWORDS
    assert KEYWORD.width is None
    assert KEYWORD.normalize("Placeholder-Term-1") == KEYWORD.normalize("placeholder term 1")


def test_normalisation_is_idempotent_on_look_alikes() -> None:
    for value in ["Ω", "ω", "Blue  Wh4le", "ＦＵＬＬ width", "caf\u00e9", "s p a c e d"]:
        once = KEYWORD.normalize(value)
        assert KEYWORD.normalize(once) == once
