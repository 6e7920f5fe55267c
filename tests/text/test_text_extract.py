"""Links found in text, however hidden, each pointing at the characters it came from."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.text import extract_urls

HIDDEN = [
    ("plain", "see https://www.example.org/page?x=1#top now", "https://www.example.org/page?x=1"),
    ("hxxp", "see hxxp://example.org/page now", "http://example.org/page"),
    ("hxxps", "see HXXPS://example.org/page now", "https://example.org/page"),
    ("square dot", "see example[.]org/page now", "http://example.org/page"),
    ("round dot", "see example(.)org/page now", "http://example.org/page"),
    ("curly dot", "see example{.}org/page now", "http://example.org/page"),
    ("bracket word", "see example[dot]org/page now", "http://example.org/page"),
    ("paren word", "see example(dot)org/page now", "http://example.org/page"),
    ("spaced paren word", "see example ( dot ) org/page now", "http://example.org/page"),
    ("word dot", "see example dot org/page now", "http://example.org/page"),
    ("upper word dot", "see example DOT org/page now", "http://example.org/page"),
    ("spaces around", "see example . org/page now", "http://example.org/page"),
    ("space before", "see example .org/page now", "http://example.org/page"),
    ("space after", "see example. org/page now", "http://example.org/page"),
    ("bracket colon", "see hxxps[:]//example[.]org/page now", "https://example.org/page"),
    ("hxxp brace colon", "see hxxp{:}//example[.]org/page now", "http://example.org/page"),
    ("hxxps paren slashes", "see hxxps(://)example[.]org/page now", "https://example.org/page"),
    ("zero width", "see exa\u200bmple.o\u200drg/pa\ufeffge now", "http://example.org/page"),
    ("soft hyphen", "see exam\u00adple.org/page now", "http://example.org/page"),
    ("full width", "see ｅｘａｍｐｌｅ．ｏｒｇ／ｐａｇｅ now", "http://example.org/page"),
    ("ideographic stop", "see example。org/page now", "http://example.org/page"),
    ("no scheme", "see example.org/page now", "http://example.org/page"),
    ("no scheme www", "see www.example.org/page now", "http://www.example.org/page"),
    ("percent host", "see example%2Eorg/page now", "http://example.org/page"),
    ("percent path", "see http://example.org/%70%61%67%65 now", "http://example.org/page"),
    ("upper case", "see EXAMPLE.ORG/page now", "http://example.org/page"),
    ("idn", "see http://bücher.example/page now", "http://xn--bcher-kva.example/page"),
    # an IPv4 address written as one number has no dot: its scheme makes it a link
    ("decimal ip", "see http://3279880203/page now", "http://195.127.0.11/page"),
    ("hex ip", "see https://0xc37f000b/ now", "https://195.127.0.11/"),
    ("hxxp decimal ip", "see hxxp://3279880203/page now", "http://195.127.0.11/page"),
    ("bracket colon ip", "see https[:]//3279880203/page now", "https://195.127.0.11/page"),
    ("bracket slashes ip", "see http[://]3279880203/page now", "http://195.127.0.11/page"),
]


@pytest.mark.parametrize(("style", "text", "url"), HIDDEN, ids=[h[0] for h in HIDDEN])
def test_each_hiding_style_is_found_with_its_span(style: str, text: str, url: str) -> None:
    found = extract_urls(text)
    assert [u.url for u in found] == [url], style
    link = found[0]
    assert text[: link.start] == "see "
    assert text[link.end :] == " now"


@pytest.mark.parametrize(
    ("text", "target", "via"),
    [
        (
            "https://www.google.com/url?q=https%3A%2F%2Fexample.org%2Fpage%3Fa%3D1&sa=D",
            "https://example.org/page?a=1",
            "www.google.com",
        ),
        ("https://l.facebook.com/l.php?u=http%3A%2F%2Fexample.net%2Fx", "http://example.net/x",
         "l.facebook.com"),
        ("https://www.youtube.com/redirect?q=example.com%2Fv&v=1", "http://example.com/v",
         "www.youtube.com"),
        ("https://vk.com/away.php?to=https%3A%2F%2Fexample.org%2F", "https://example.org/",
         "vk.com"),
    ],
)  # fmt: skip
def test_redirect_wrappers_give_their_target_with_the_wrappers_span(
    text: str, target: str, via: str
) -> None:
    found = extract_urls(f"look {text} here")
    assert len(found) == 2
    wrapper, inner = found
    assert inner.url == target
    assert inner.via == via
    assert wrapper.via is None
    assert (inner.start, inner.end) == (wrapper.start, wrapper.end) == (5, 5 + len(text))


def test_shorteners_are_flagged_never_fetched() -> None:
    (link,) = extract_urls("short https://t.co/AbC and more")
    assert link.shortener
    assert link.url == "https://t.co/AbC"


@pytest.mark.parametrize(
    "text",
    [
        "no links here at all",
        "file.notatld and e.g. this, i.e. that",
        "mail me at someone@example.org",  # an address, not a link
        "a sentence.another sentence",
        "version 1.2.3 is out",
    ],
)
def test_not_links(text: str) -> None:
    assert extract_urls(text) == []


def test_a_sentence_after_a_link_does_not_join_it() -> None:
    found = extract_urls("Look at example.org. It is a page. (example.net/x) 'example.com/y'.")
    assert [u.url for u in found] == [
        "http://example.org/",
        "http://example.net/x",
        "http://example.com/y",
    ]


def test_extra_tlds_extend_the_known_list() -> None:
    assert extract_urls("see example.zzz/page") == []
    (link,) = extract_urls("see example.zzz/page", extra_tlds=frozenset({"zzz"}))
    assert link.url == "http://example.zzz/page"


# Benign text around placeholder links, in several hiding styles: the span of each link
# found must be exactly where it was inserted.
_DOMAINS = ["example.org", "example.com", "example.net", "www.example.org", "sub.example.com"]
_PATHS = ["", "/", "/page", "/a/b.html", "/p?q=1", "/x?y=2&z=3"]
_STYLES = [
    lambda d, p: f"https://{d}{p}",
    lambda d, p: f"http://{d}{p}",
    lambda d, p: f"hxxps://{d.replace('.', '[.]')}{p}",
    lambda d, p: f"{d.replace('.', ' dot ')}{p}",
    lambda d, p: f"{d.replace('.', '(.)')}{p}",
    lambda d, p: f"{d}{p}",
    lambda d, p: f"{d}{p}".upper() if not p else f"{d.upper()}{p}",
    lambda d, p: "\u200b".join(f"{d}{p}"),
]
_WORDS = st.lists(
    st.sampled_from(
        ["the", "a", "garden", "is", "green", "today", "and", "we", "walk", "Hello!", "ok,",
         "42", "it's", "café", "naïve", "über", "日本", "🙂", "see:", "(note)", "end."]
    ),
    max_size=8,
).map(" ".join)  # fmt: skip


@given(
    before=_WORDS,
    after=_WORDS,
    domain=st.sampled_from(_DOMAINS),
    path=st.sampled_from(_PATHS),
    style=st.sampled_from(range(len(_STYLES))),
)
@settings(max_examples=300, deadline=None)
def test_spans_point_at_the_inserted_link(
    before: str, after: str, domain: str, path: str, style: int
) -> None:
    link = _STYLES[style](domain, path)
    text = f"{before} {link} {after}"
    start = len(before) + 1
    found = [u for u in extract_urls(text) if u.canonical.host.endswith("example." + domain[-3:])]
    assert found, text
    assert (found[0].start, found[0].end) == (start, start + len(link)), text
    expected_path = path.split("?")[0] or "/"
    assert found[0].canonical.path == expected_path


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("x ." + " " * 50_000 + "y", []),  # a long run of spaces before a dot
        ("a dot" + " " * 50_000 + "x", []),
        ("[" + " " * 50_000 + ".]", []),
        ("http://example.org/" + ")" * 50_000, ["http://example.org/"]),  # unbalanced closers
        ("a.b " * 20_000, []),
    ],
    ids=["spaces-dot", "spaces-word-dot", "spaces-bracket", "closers", "many-non-links"],
)
def test_hostile_inputs_are_handled_in_linear_passes(text: str, urls: list[str]) -> None:
    # Quadratic patterns would take minutes on these; what is checked here is the answer.
    assert [u.url for u in extract_urls(text)] == urls


def test_a_huge_link_is_cut() -> None:
    (link,) = extract_urls("see http://example.org/" + "a" * 100_000 + " now")
    assert link.end - link.start == 4096
