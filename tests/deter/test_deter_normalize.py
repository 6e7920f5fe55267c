"""Normalisation: every kind of obfuscation lands on the same key as the plain word.

Only generic words and placeholder tokens appear here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.deter._normalize import normalize, normalize_phrase


@pytest.mark.parametrize(
    ("disguised", "plain"),
    [
        ("SEX", "sex"),  # case
        ("ｓｅｘ", "sex"),  # fullwidth (NFKC)
        ("𝐬𝐞𝐱", "sex"),  # mathematical bold (NFKC)
        ("ѕех", "sex"),  # Cyrillic look-alikes
        ("ΤΕΕΝ", "teen"),  # Greek capitals
        ("🅣🅔🅔🅝", "teen"),  # negative circled letters
        ("ᴛᴇᴇɴ", "teen"),  # small capitals
        ("sèx", "sex"),  # accents
        ("s\u200bex", "sex"),  # zero-width space
        ("se\u00adx", "sex"),  # soft hyphen
        ("s3x", "sex"),  # leetspeak digits
        ("$ex", "sex"),  # leetspeak symbols
        ("t33n", "teen"),
        ("pr3t33n", "preteen"),
        ("n@k3d", "naked"),
        ("s.e.x", "sex"),  # punctuation between letters
        ("s e x", "sex"),  # spaces between letters
        ("s-e-x", "sex"),
        ("s_e_x", "sex"),
        ("seeeeex", "sex"),  # repeated letters
        ("ssseeexxx", "sex"),
        ("zzt3rm1", "zzterm1"),  # placeholder token with leetspeak
        ("Z Z T E R M 1", "zzterm1"),
        ("qqpl4c3h0ld3r", "qqplaceholder"),
    ],
)
def test_disguises_normalise_like_the_plain_word(disguised: str, plain: str) -> None:
    assert normalize(disguised).text == normalize_phrase(plain)


def test_sentence_keeps_word_boundaries() -> None:
    norm = normalize("Kids  shoes, size 12!")
    assert norm.tokens == ("kids", "shoes", "size", "12")


def test_pure_numbers_are_not_read_as_leetspeak() -> None:
    assert normalize("size 12 in 2024").tokens == ("size", "12", "in", "2024")


def test_digit_view_keeps_ages() -> None:
    for text, expected in [
        ("12yo", ("12", "yo")),
        ("12 y/o", ("12", "yo")),
        ("12 y.o.", ("12", "yo")),
        ("12-year-old", ("12", "year", "old")),
        ("1 2 y o", ("12", "yo")),
        ("twelve yrs", ("twelve", "yrs")),
    ]:
        assert normalize(text).digit_tokens == expected, text


def test_digits_are_not_squeezed() -> None:
    assert normalize("11yo").digit_tokens == ("11", "yo")
    assert normalize("room 1100").tokens == ("rom", "1100")  # letters squeezed, digits not


def test_teen_keeps_a_trace_of_its_double_letter() -> None:
    teen, ten = normalize("teen"), normalize("ten")
    assert teen.tokens == ten.tokens  # the same squeezed key...
    assert teen.raw_tokens != ten.raw_tokens  # ...but the raw view tells them apart


def test_exclamation_is_punctuation_at_the_end_of_a_word() -> None:
    assert normalize("sex!!").text == "sex"
    assert normalize("s!x").text == "six"  # inside a word "!" reads as "i"


def test_empty_and_symbol_only_text() -> None:
    assert normalize("").tokens == ()
    assert normalize("   ...  ").tokens == ()
    assert normalize_phrase("---") == ""


def test_other_scripts_survive() -> None:
    assert normalize("Ребёнок").tokens  # Cyrillic words stay words (folded), not dropped
    assert normalize("子供").tokens == ("子供",)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.text(alphabet="aAbΩωßΗη!|@1l $.-", max_size=30))
def test_normalisation_is_idempotent_and_total(text: str) -> None:
    result = normalize(text)
    once = result.text
    assert normalize(once).text == once  # normalising the output changes nothing
    assert normalize_phrase(once) == once
    assert "  " not in once
    assert once == once.strip()
    assert len(result.tokens) == len(result.raw_tokens)
    assert isinstance(result.digit_tokens, tuple)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ω", "w"),  # case folding gives ω, itself a look-alike of w
        ("ΩΩΩ", "w"),
        ("aa b", "ab"),  # squeezing leaves single letters side by side: joined in one pass
        ("a !! b", "ab"),  # so does a dropped run of symbols
        ("T E E N  S E X", "ten sex"),
    ],
)
def test_normalisation_reaches_its_fixed_point_at_once(text: str, expected: str) -> None:
    assert normalize(text).text == expected
    assert normalize(expected).text == expected
