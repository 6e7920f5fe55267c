"""The keyword pre-scan never changes an answer: a text it lets skip Deter's normaliser has
no keyword hit (hypothesis, over look-alikes, leetspeak, spaced letters, repeats, symbols)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.text import KeywordList, KeywordMatcher

TERMS = [
    "placeholder-term-1",
    "blue whale",
    "kwabcdef",
    "t3st phrase",
    "zz top",
    "2024 plans",
    "wow",
    "go",
]
LISTS = [
    KeywordList.from_terms("w", TERMS),
    KeywordList.from_terms("s", ["subterm", "xyz"], match="substring"),
]
FAST = KeywordMatcher(LISTS)
SLOW = KeywordMatcher(LISTS)
SLOW._prescan = None  # always Deter's normaliser

_PIECES = st.sampled_from(
    [
        *TERMS,
        "subterm",
        "BLUE",
        "wh4le",
        "whaaale",
        "b l u e",
        "p1aceh0lder",
        "t e r m",
        "1",
        "!",
        "!!",
        "wow!",
        "g0",
        "|",
        "@",
        "$",
        "ｗｈａｌｅ",
        "ωοw",
        "Ω",
        "café",
        "🙂",
        "\u200b",
        "-",
        ".",
        " ",
        "  ",
        "\t",
        "kw",
        "abc",
        "def",
        "zz",
        "top",
        "2024",
        "pians",
        "x",
        "y",
        "z",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14), st.sampled_from(["", " ", "-", "."]))
def test_the_prescan_never_hides_a_hit(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    slow = SLOW.match(text)
    assert FAST.match(text) == slow
    if slow:
        assert FAST.could_match(text)


def test_the_prescan_skips_plain_messages() -> None:
    assert not FAST.could_match("weather tomorrow london cheap flights to paris 🙂 café")
    assert FAST.could_match("a BLU3  wh4le appears")
    assert FAST.could_match("mail me @ home")  # '@' alone: cannot tell quickly
