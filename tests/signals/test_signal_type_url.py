"""The url and url_sha256 signal types against the signal type contract, and what is
particular to them: a plain and a hashed entry of one expression share one key."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import strategies as st
from signal_type_contract import SignalTypeContract

from safespace.errors import InvalidSignal
from safespace.signals import SIGNAL_TYPES, URL, URL_SHA256, TextSource, signal_types_in_text

_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
_DOMAINS = st.sampled_from(["example.com", "example.org", "example.net"])


class TestUrlContract(SignalTypeContract):
    signal_type = URL
    invalid = (
        ("", "empty"),
        ("   ", "empty"),
        ("example.org/a page", "spaces"),
        ("http:///nohost", "host"),
        ("localhost/page", "no dot"),
        ("example.org/" + "a" * 300, "hashed"),
        (42, "string"),
    )

    def canonical_values(self) -> st.SearchStrategy[str]:
        path = st.lists(_LABEL, max_size=3).map(lambda p: "/" + "/".join(p))
        query = st.one_of(st.just(""), _LABEL.map(lambda q: f"?q={q}"))
        return st.builds(lambda h, d, p, q: f"{h}.{d}{p}{q}", _LABEL, _DOMAINS, path, query)

    def random_value(self, rng: random.Random) -> str:
        label = "".join(rng.choices("abcdefghij", k=8))
        return f"{label}.{rng.choice(['example.com', 'example.org'])}/p/{rng.randrange(10**6)}"

    def spellings(self, canonical: str) -> st.SearchStrategy[str]:
        host, _, rest = canonical.partition("/")
        return st.sampled_from(
            [
                canonical,
                "http://" + canonical,
                "https://" + canonical + "#fragment",
                f"HTTP://{host.upper()}/{rest}",
                f"  http://{host}:8080/{rest}\n",
                f"http://{host}./{rest}",
            ]
        )


class TestUrlSha256Contract(SignalTypeContract):
    signal_type = URL_SHA256


def test_a_url_and_its_sha256_share_one_key() -> None:
    expression = URL.normalize("https://www.example.org/listed/page.html?ref=1#top")
    assert expression == "www.example.org/listed/page.html?ref=1"
    digest = hashlib.sha256(expression.encode()).hexdigest()
    assert URL.key(expression) == URL_SHA256.key(digest) == bytes.fromhex(digest)


def test_both_url_types_look_for_links_in_text() -> None:
    assert set(signal_types_in_text(TextSource.LINKS)) == {URL, URL_SHA256}
    assert all(t.text_source is None for t in SIGNAL_TYPES.values() if t.media)


def test_canonical_form_follows_safe_browsing() -> None:
    assert URL.normalize("http://www.GOOgle.com/a/../b/./c") == "www.google.com/b/c"
    assert URL.normalize("http://3279880203/blah") == "195.127.0.11/blah"
    assert URL.normalize("example.org") == "example.org/"


@pytest.mark.parametrize("bad", ["ftp", "http://", "."])
def test_urls_without_a_host_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSignal, match="url"):
        URL.normalize(bad)
