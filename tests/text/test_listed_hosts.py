"""A plain list's host checks (``ListedHosts``) never skip a link the full lookup matches.

``UrlList.match_text`` skips whole posts and single links by their hosts before
canonicalising (src/safespace/text/_hosts.py). Hypothesis builds posts from the pieces that
could fool such a check (listed hosts in upper case, with ``www.``, as a suffix of a longer
host, with a port, user info, a trailing dot, percent-escapes, repeated dots, IPv4 numbers
in every form, redirect wrappers with plain and encoded targets, hiding styles, non-ASCII
letters) and compares the answers with the lookup of every extracted link, unfiltered.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from safespace.text import UrlList, extract_urls
from safespace.text._hosts import ListedHosts

LISTED = [
    "listed.example.org/",
    "www.paged.example.net/a/b.html",
    "deep.sub.example.com/x/",
    "195.127.0.11/",
    "under_score.example.org/p",
    "shop.co.uk/q?x=1",
    "xn--mnchen-3ya.example.org/",
]

_HOSTS = [
    "listed.example.org",
    "LISTED.Example.ORG",
    "www.listed.example.org",
    "a.b.c.d.e.listed.example.org",
    "paged.example.net",
    "www.paged.example.net",
    "sub.example.com",
    "deep.sub.example.com",
    "x.deep.sub.example.com",
    "195.127.0.11",
    "3279880203",
    "0xC3.0177.0.11",
    "0xc37f000b",
    "195.127.11",
    "under_score.example.org",
    "shop.co.uk",
    "www.shop.co.uk",
    "intranet",
    "INTRANET",
    "other-host.example.org",
    "listed.example.org.",
    "listed..example.org",
    ".listed.example.org",
    "listed.example.org:8080",
    "user@listed.example.org",
    "listed.example.org@other.example.net",
    "lis%74ed.example.org",
    "listed%2eexample.org",
    "lísted.example.org",
    "münchen.example.org",
    "xn--lsted-rta.example.org",
    "listed.example.org.next",
    "listed.example.org.uk",
    "listed[.]example[.]org",
    "listed dot example dot org",
    "listed . example . org",
    "listed\u3002example\u3002org",
    "ｌｉｓｔｅｄ.example.org",
    "list\u200bed.example.org",
]
_PATHS = ["", "/", "/a/b.html", "/a/b.html?ref=1", "/x/y/z", "/q?x=1", "/p", "#frag", "/%61/b.html"]
_SCHEMES = [
    "", "http://", "https://", "HTTPS://", "hxxps://", "ftp://", "https[:]//", "http(:)//",
    "https[://]", "h**ps{:}//",
]  # fmt: skip
_WRAPPERS = [
    "https://www.google.com/url?q={}",
    "https://www.google.co.uk/url?q={}",
    "https://l.facebook.com/l.php?u={}",
    "https://tenant.safelinks.protection.outlook.com/?url={}",
    "https://vk.com/away.php?to={}",
]
_FILLER = ["see", "this", "ok.", "v1.2.3", "3.14", "café", "🙂", "…", "e.g.", "(", ")", ",", "a.b"]


def _encode(url: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else f"%{ord(c):02X}" for c in url)


@st.composite
def links(draw: st.DrawFn) -> str:
    url = draw(st.sampled_from(_SCHEMES)) + draw(st.sampled_from(_HOSTS))
    url += draw(st.sampled_from(_PATHS))
    if draw(st.integers(0, 5)) == 0:
        target = _encode(url) if draw(st.booleans()) else url
        url = draw(st.sampled_from(_WRAPPERS)).format(target)
    return url


posts = st.lists(st.one_of(links(), st.sampled_from(_FILLER)), min_size=0, max_size=8).map(" ".join)


def _reference(urls: UrlList, text: str) -> list[tuple[str, str, int, int]]:
    return sorted(
        (m.expression, m.listed_as, m.start, m.end) for m in urls.match_links(extract_urls(text))
    )


URLS = UrlList(expressions=LISTED)


@settings(max_examples=400, deadline=None)
@given(posts)
# each way a host can change on its way to canonical form, alone in a post
@example("see https://www.google.com/url?q=https%3A%2F%2Flisted.example.org%2Fa")
@example("see https://www.google.com/url?q=3279880203/x.html")
@example("see https://l.facebook.com/l.php?u=3279880203/x.html")
@example("see https://l.facebook.com/l.php?u=listed.example.org/")
@example("see http://3279880203/")
@example("see http://user@0xc37f000b/")
@example("see https://0xC3.0177.0.11/ now")
@example("see https://listed..example.org/")
@example("https[:]//3279880203/a/b.html")
@example("see http(:)//user@3279880203/ or {:}//3279880203/")
@example("see https://listed.example..org/")
@example("see https://münchen.example.org/")
@example("see https://MÜNCHEN.example.org/ or ẞ")
@example("see HTTPS://WWW.GOOGLE.COM/url?q=3279880203/x.html 🙂")
@example("see https://ｌｉｓｔｅｄ.example.org/")
@example("see listed\u3002example\u3002org")
@example("see listed.example.org.next")
@example("see LISTED.Example.ORG:8080/")
@example("see https://other.example.net@listed.example.org/")
@example("see https://lis%74ed.example.org/")
@example("see https://listed%2eexample.org/")
@example("see https://listed%252eexample.org/")
@example("see paged.example.net/a/b.html?ref=1")
@example("see x.deep.sub.example.com/x/y")
@example("see www.shop.co.uk/q?x=1")
def test_the_host_checks_skip_nothing_the_full_lookup_matches(text: str) -> None:
    fast = sorted((m.expression, m.listed_as, m.start, m.end) for m in URLS.match_text(text))
    assert fast == _reference(URLS, text)


@pytest.mark.parametrize(
    "text",
    [
        "see http://3279880203/a",
        "see https[:]//3279880203/a/b.html",
        "see hxxps(:)//3279880203/",
        "see http[://]0xc37f000b/",
        "see https://user@0xC3.0177.0.11/",
    ],
)
def test_a_listed_ip_written_as_numbers_is_found(text: str) -> None:
    """An IPv4 address in any form it is read in, behind a plain or hidden scheme."""
    assert [m.expression for m in URLS.match_text(text)] == ["195.127.0.11/"]


def test_a_listed_host_the_post_check_cannot_read_turns_it_off() -> None:
    urls = UrlList(expressions=[*LISTED, "intranet/"])  # one label: no first-label word
    for text in ("see http://intranet/p.html", "HTTP://INTRANET/p.html", "intranet.example.org"):
        assert urls._hosts.could_match_text(text)
        assert sorted(
            (m.expression, m.listed_as, m.start, m.end) for m in urls.match_text(text)
        ) == _reference(urls, text)
    assert [m.expression for m in urls.match_text("see http://intranet/p.html")] == ["intranet/"]


def test_the_checks_do_skip_posts_and_links_on_other_hosts() -> None:
    hosts = ListedHosts()
    for host in ("www.paged.example.net", "deep.sub.example.com", "listed.example.org"):
        hosts.add(host)
    assert not hosts.could_match_text("see https://other-host.example.org/a and sub.example.com")
    assert not hosts.could_match_text("a post with no links and none of the labels in it")
    # a listed host's first label written as a word lets a post through to the full lookup
    assert hosts.could_match_text("a post with no links: listed, paged and deep are words")
    assert URLS.match_text("a post with no links: listed, paged and deep are words") == []
    assert hosts.could_match_text("see https://deep.sub.example.com/x/y")
    assert hosts.could_match_text("see https://x.deep.sub.example.com/x/y")  # a longer host
    assert hosts.could_match_text("see paged.example.net/a/b.html")  # listed with www.
    assert hosts.could_match_text("see listed[.]example[.]org or listed dot example")
    assert hosts.could_match_text("see https://lis%74ed.example.org/")  # escapes: never skipped
    assert hosts.could_match_text("see https://café.example.org/")  # punycode: never skipped
    assert not hosts.could_match_text("see http://3279880203/")  # no IP address is listed
    hosts.add("195.127.0.11")
    assert hosts.could_match_text("see http://3279880203/")  # now one is
    assert hosts.could_match_text("see https://www.google.com/url?q=3279880203/x.html")
    assert not hosts.might_list("other-host.example.org")
    assert hosts.might_list("x.y.listed.example.org")
    assert hosts.might_list("paged.example.net")


def test_hosts_are_counted_so_a_removed_entry_leaves_the_others() -> None:
    hosts = ListedHosts()
    hosts.add("www.example.org")
    hosts.add("www.example.org")
    hosts.add("EXAMPLE.net")  # one the per-post check cannot reason about
    hosts.discard("www.example.org")
    assert hosts.could_match_text("https://example.org/")
    hosts.discard("www.example.org")
    assert hosts.could_match_text("https://example.org/")  # EXAMPLE.net: unchecked
    hosts.discard("EXAMPLE.net")
    assert not hosts.could_match_text("https://example.org/")
    assert len(hosts) == 0


def test_a_long_post_is_checked_in_linear_time() -> None:
    hosts = ListedHosts()
    hosts.add("a.example.org")
    assert not hosts.could_match_text("x." * 50_000 + "com")
    assert hosts.could_match_text("x." * 50_000 + "a.example.org")
