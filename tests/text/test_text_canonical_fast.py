"""The quick form of canonicalisation (links already canonical but for case) gives exactly
what the full byte-level steps give (a ``bytes`` argument always takes the full steps)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.text import canonicalize

_LABEL = st.text("abcXYZ019-", min_size=1, max_size=6)
_PATH = st.text("abcXYZ019._~!$&'()*+,;=:@/-%#? ", max_size=16)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["", "http://", "https://", "HTTPS://", "ftp://", "hxxp://"]),
    st.lists(_LABEL, min_size=1, max_size=4),
    st.sampled_from(["com", "org", "Net", "1", "0x7f", "c0m", "example"]),
    st.one_of(st.just(""), _PATH.map(lambda p: "/" + p)),
    st.one_of(st.just(""), _PATH.map(lambda q: "?" + q)),
)
def test_quick_canonical_form_equals_the_full_steps(
    scheme: str, labels: list[str], tld: str, path: str, query: str
) -> None:
    url = f"{scheme}{'.'.join([*labels, tld])}{path}{query}"
    assert canonicalize(url) == canonicalize(url.encode("utf-8")), url


def test_quick_form_examples() -> None:
    for url in [
        "Example.ORG/Page?x=1",
        "https://www.example.com/a/b.html",
        "example.net",
        "example.net?",
        "http://example.org/a/./b",
        "http://example.org//a",
        "http://1.2.3.4/",
        "http://example.org:8080/",
    ]:
        assert canonicalize(url) == canonicalize(url.encode()), url
