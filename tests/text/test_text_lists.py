"""URL lists (plain and SHA-256) and keyword lists matched in posts, with spans."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.errors import InvalidInput
from safespace.text import (
    KeywordList,
    KeywordMatcher,
    UrlList,
    expression_hash,
    listed_expression,
)

LISTED = ["https://example.org/listed/page.html", "www.example.com/dir/", "example.net"]


def _lists() -> tuple[UrlList, UrlList]:
    plain = UrlList.from_urls(LISTED)
    hashed = UrlList(hashes=[expression_hash(listed_expression(u)).hex() for u in LISTED])
    return plain, hashed


MATCHES = [
    "see https://example.org/listed/page.html now",
    "see http://www.example.org/listed/page.html?utm=1#frag now",  # www, query, fragment
    "see EXAMPLE.ORG/listed/page.html?other=2 now",
    "see hxxps://example[.]org/listed/page.html now",
    "see example dot org/listed/page.html now",
    "see ｅｘａｍｐｌｅ．ｏｒｇ/listed/page.html now",
    "see exa\u200bmple.org/listed/page.html now",
    "see example.org/listed/./x/../page.html now",
    "see https://www.google.com/url?q=https%3A%2F%2Fexample.org%2Flisted%2Fpage.html now",
    "see example.com/dir/anything/below now",  # a listed directory, without www
    "see www.example.com/dir/ now",
    "see http://sub.example.net/any/page now",  # a listed host
    "see example.net now",
]
NO_MATCHES = [
    "see https://example.org/other/page.html now",  # same host, unlisted page
    "see https://example.org/ now",
    "see https://example.org/listed/ now",
    "see example.com/other now",
    "see example.org.evil.test/listed/page.html now",
    "see example.org now",
    "nothing to see",
]


@pytest.mark.parametrize("text", MATCHES)
def test_listed_pages_match_however_written(text: str) -> None:
    plain, _hashed = _lists()
    found = plain.match_text(text)
    assert found, text
    match = found[0]
    assert text[: match.start] == "see "
    assert text[match.end :] == " now"
    assert match.listed_as == "plain"
    assert match.sha256 == expression_hash(match.expression).hex()


@pytest.mark.parametrize("text", NO_MATCHES)
def test_unlisted_pages_do_not_match(text: str) -> None:
    plain, hashed = _lists()
    assert plain.match_text(text) == []
    assert hashed.match_text(text) == []


@pytest.mark.parametrize("text", MATCHES + NO_MATCHES)
def test_hashed_and_plain_lists_give_the_same_answers(text: str) -> None:
    plain, hashed = _lists()
    as_plain = [dataclasses.replace(m, listed_as="-") for m in plain.match_text(text)]
    as_hashed = [dataclasses.replace(m, listed_as="-") for m in hashed.match_text(text)]
    assert as_plain == as_hashed


def test_a_listed_www_page_matches_without_www() -> None:
    plain = UrlList.from_urls(["http://www.example.org/page"])
    (match,) = plain.match_text("example.org/page?x=1")
    assert match.expression == "www.example.org/page"


def test_matches_hold_no_text() -> None:
    plain, _ = _lists()
    (match,) = plain.match_text("private words example.org/listed/page.html more words")
    fields = {f.name for f in dataclasses.fields(match)}
    assert fields == {"expression", "sha256", "listed_as", "start", "end", "via"}
    assert "private" not in repr(match)


def test_bad_list_entries_are_refused() -> None:
    with pytest.raises(InvalidInput):
        UrlList(hashes=["not-a-hash"])
    with pytest.raises(InvalidInput):
        UrlList(expressions=["no-slash"])
    with pytest.raises(InvalidInput):
        UrlList.from_urls(["http:///"])


@given(st.sampled_from(MATCHES + NO_MATCHES), st.integers(0, 3))
@settings(max_examples=50, deadline=None)
def test_a_plain_list_and_its_hashed_twin_agree_on_any_subset(text: str, drop: int) -> None:
    listed = LISTED[:drop] + LISTED[drop + 1 :]
    plain = UrlList.from_urls(listed)
    hashed = UrlList(hashes=[expression_hash(listed_expression(u)) for u in listed])
    assert [(m.expression, m.start, m.end) for m in plain.match_text(text)] == [
        (m.expression, m.start, m.end) for m in hashed.match_text(text)
    ]


# Keywords: placeholder words, never real list content.
def _keywords() -> KeywordMatcher:
    words = KeywordList.from_terms("kw", ["blue whale", "pineapple", "garden gnome"])
    parts = KeywordList.from_terms("parts", ["grape"], match="substring", category="fruit")
    return KeywordMatcher([words, parts])


@pytest.mark.parametrize(
    ("text", "rule_id", "matched"),
    [
        ("I saw a blue whale today", "kw:1", "blue whale"),
        ("I saw a BLUE   whale today", "kw:1", "BLUE   whale"),
        ("I saw a blu3 wh4le today", "kw:1", "blu3 wh4le"),  # leetspeak
        ("I saw a Ｂｌｕｅ whale today", "kw:1", "Ｂｌｕｅ whale"),  # full width
        ("I saw a blυe whale today", "kw:1", "blυe whale"),  # a Greek look-alike
        ("I saw a b\u200blue whale today", "kw:1", "b\u200blue whale"),  # zero width
        ("we ate p i n e a p p l e", "kw:2", "p i n e a p p l e"),  # spaced out
        ("we ate piiineapple", "kw:2", "piiineapple"),  # repeats squeezed
        ("a garden gnome, really", "kw:3", "garden gnome"),
        ("grapefruit", "parts:1", "grapefruit"),  # substring: the word that holds it
    ],
)
def test_keyword_spans_point_at_the_original_characters(
    text: str, rule_id: str, matched: str
) -> None:
    found = [m for m in _keywords().match(text) if m.rule_id == rule_id]
    assert found, text
    assert found[0].exact_span
    assert text[found[0].start : found[0].end] == matched


def test_every_occurrence_has_its_span() -> None:
    text = "pineapple, then more pineapple"
    spans = [(m.start, m.end) for m in _keywords().match(text) if m.rule_id == "kw:2"]
    assert spans == [(0, 9), (21, 30)]


def test_keyword_matches_hold_the_key_not_the_post() -> None:
    (match,) = _keywords().match("my secret diary mentions a blue whale")
    assert match.keyword == "biue whaie"  # Deter's normalised key
    assert "secret" not in repr(match)
    assert match.category == "default"


def test_no_keyword_no_match() -> None:
    assert _keywords().match("an ordinary sentence about the weather") == []
    assert _keywords().match("") == []


def test_bad_keyword_lists_are_refused() -> None:
    with pytest.raises(InvalidInput):
        KeywordList.from_terms("kw", ["!!!"])
    with pytest.raises(InvalidInput):
        KeywordList.from_terms("kw", ["x"], match="regex")


_BENIGN = st.lists(
    st.sampled_from(["the", "a", "garden", "is", "green", "today", "we", "walk", "café",
                     "Hello!", "ok,", "42", "🙂", "naïve", "whale", "blue"]),
    max_size=10,
).map(" ".join)  # fmt: skip


@given(before=_BENIGN, after=_BENIGN)
@settings(max_examples=200, deadline=None)
def test_keyword_spans_in_random_text(before: str, after: str) -> None:
    text = f"{before} pineapple {after}"
    spans = [(m.start, m.end, m.exact_span) for m in _keywords().match(text) if m.rule_id == "kw:2"]
    assert (len(before) + 1, len(before) + 10, True) in spans


def test_a_hit_only_deters_second_pass_sees_spans_the_whole_post() -> None:
    # "aa b" squeezes to "a b", which Deter's second pass joins to "ab"; the one-pass
    # reading the spans come from has "a b", so the span cannot be narrowed down.
    matcher = KeywordMatcher([KeywordList.from_terms("kw", ["ab"])])
    text = "hello aa b world"
    (match,) = matcher.match(text)
    assert (match.start, match.end, match.exact_span) == (0, len(text), False)
