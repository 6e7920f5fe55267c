"""Canonicalisation and expressions, checked against the Safe Browsing "URLs and Hashing" page.

Every canonicalisation example the page publishes is below, written out by hand. The page
works on bytes; its one example with raw non-ASCII bytes is therefore given as bytes.
"""

from __future__ import annotations

import hashlib

import pytest

from safespace.text import canonicalize, expression_hash, url_expressions

PUBLISHED_EXAMPLES: list[tuple[str | bytes, str]] = [
    ("http://host/%25%32%35", "http://host/%25"),
    ("http://host/%25%32%35%25%32%35", "http://host/%25%25"),
    ("http://host/%2525252525252525", "http://host/%25"),
    ("http://host/asdf%25%32%35asd", "http://host/asdf%25asd"),
    ("http://host/%%%25%32%35asd%%", "http://host/%25%25%25asd%25%25"),
    ("http://www.google.com/", "http://www.google.com/"),
    (
        "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/"
        "%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
        "http://168.188.99.26/.secure/www.ebay.com/",
    ),
    (
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/"
        ".eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
        "http://195.127.0.11/uploads/%20%20%20%20/.verify/"
        ".eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
    ),
    (
        "http://host%23.com/%257Ea%2521b%2540c%2523d%2524e%25f%255E00%252611%252A22%252833"
        "%252944_55%252B",
        "http://host%23.com/~a!b@c%23d$e%25f^00&11*22(33)44_55+",
    ),
    ("http://3279880203/blah", "http://195.127.0.11/blah"),
    ("http://www.google.com/blah/..", "http://www.google.com/"),
    ("www.google.com/", "http://www.google.com/"),
    ("www.google.com", "http://www.google.com/"),
    ("http://www.evil.com/blah#frag", "http://www.evil.com/blah"),
    ("http://www.GOOgle.com/", "http://www.google.com/"),
    ("http://www.google.com.../", "http://www.google.com/"),
    ("http://www.google.com/foo\tbar\rbaz\n2", "http://www.google.com/foobarbaz2"),
    ("http://www.google.com/q?", "http://www.google.com/q?"),
    ("http://www.google.com/q?r?", "http://www.google.com/q?r?"),
    ("http://www.google.com/q?r?s", "http://www.google.com/q?r?s"),
    ("http://evil.com/foo#bar#baz", "http://evil.com/foo"),
    ("http://evil.com/foo;", "http://evil.com/foo;"),
    ("http://evil.com/foo?bar;", "http://evil.com/foo?bar;"),
    (b"http://\x01\x80.com/", "http://%01%80.com/"),
    ("http://notrailingslash.com", "http://notrailingslash.com/"),
    ("http://www.gotaport.com:1234/", "http://www.gotaport.com/"),
    ("  http://www.google.com/  ", "http://www.google.com/"),
    ("http:// leadingspace.com/", "http://%20leadingspace.com/"),
    ("http://%20leadingspace.com/", "http://%20leadingspace.com/"),
    ("%20leadingspace.com/", "http://%20leadingspace.com/"),
    ("https://www.securesite.com/", "https://www.securesite.com/"),
    ("http://host.com/ab%23cd", "http://host.com/ab%23cd"),
    ("http://host.com//twoslashes?more//slashes", "http://host.com/twoslashes?more//slashes"),
]


@pytest.mark.parametrize(("url", "expected"), PUBLISHED_EXAMPLES)
def test_published_canonicalisation_examples(url: str | bytes, expected: str) -> None:
    assert canonicalize(url).url == expected


def test_published_expression_examples() -> None:
    assert url_expressions("http://a.b.c/1/2.html?param=1") == [
        "a.b.c/1/2.html?param=1", "a.b.c/1/2.html", "a.b.c/", "a.b.c/1/",
        "b.c/1/2.html?param=1", "b.c/1/2.html", "b.c/", "b.c/1/",
    ]  # fmt: skip
    assert url_expressions("http://a.b.c.d.e.f.g/1.html") == [
        "a.b.c.d.e.f.g/1.html", "a.b.c.d.e.f.g/", "c.d.e.f.g/1.html", "c.d.e.f.g/",
        "d.e.f.g/1.html", "d.e.f.g/", "e.f.g/1.html", "e.f.g/", "f.g/1.html", "f.g/",
    ]  # fmt: skip
    assert url_expressions("http://1.2.3.4/1/") == ["1.2.3.4/1/", "1.2.3.4/"]
    assert url_expressions("http://a.b/saw-cgi/eBayISAPI.dll/") == [
        "a.b/saw-cgi/eBayISAPI.dll/", "a.b/", "a.b/saw-cgi/",
    ]  # fmt: skip


def test_at_most_five_hosts_and_six_paths() -> None:
    exprs = url_expressions("http://a.b.c.d.e.f.g.h/1/2/3/4/5/6.html?q=1")
    hosts = {e.split("/", 1)[0] for e in exprs}
    paths = {"/" + e.split("/", 1)[1] for e in exprs}
    assert len(hosts) == 5
    assert "h" not in hosts  # never the top-level domain alone
    assert paths == {"/1/2/3/4/5/6.html?q=1", "/1/2/3/4/5/6.html", "/", "/1/", "/1/2/", "/1/2/3/"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://0x7f.1/", "http://127.0.0.1/"),  # hex and a short form
        ("http://0177.0.0.01/", "http://127.0.0.1/"),  # octal
        ("http://2130706433/", "http://127.0.0.1/"),  # one decimal number
        ("http://127.1/", "http://127.0.0.1/"),
        ("http://EXAMPLE.org:80/", "http://example.org/"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://user:secret@example.org/a", "http://example.org/a"),
        ("http://example.org/a/./b/../c", "http://example.org/a/c"),
        ("http://.example.org./", "http://example.org/"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://BÜCHER.example/", "http://xn--bcher-kva.example/"),
        ("http://example.org/ä", "http://example.org/%C3%A4"),
    ],
)
def test_ip_forms_ports_dots_and_idn(url: str, expected: str) -> None:
    assert canonicalize(url).url == expected


def test_expression_hash_is_sha256_of_the_expression() -> None:
    assert expression_hash("example.org/") == hashlib.sha256(b"example.org/").digest()


def test_canonical_form_is_stable() -> None:
    for url, _ in PUBLISHED_EXAMPLES:
        once = canonicalize(url).url
        assert canonicalize(once).url == once
