"""The hosts of a plain URL list, to skip links and whole posts that cannot match it.

A link matches a plain list only when one of its lookup hosts (its canonical host, ``www.``
in front of it, or a suffix of it cut at a dot: see :func:`._canonical.lookup_hosts`) is the
host of a listed expression. Most links are on hosts nobody listed, and most posts hold no
such link, so two quick checks come before the work of finding and canonicalising links:

- per post (:meth:`ListedHosts.could_match_text`): every listed host that could match is
  made of whole labels of a link's host, so its first label (after ``www.``) is written in
  the post as a word of its own, between any two characters that are not letters, digits,
  ``-`` or ``_``. One set lookup per word of the post, all in C, tells whether any listed
  host's first label is there. Hiding styles keep the labels (``listed[.]example[.]org``,
  ``listed dot example``); what can change a label on the way to canonical form is checked
  first and never skipped: percent-escapes, letters that are not ASCII next to a dot
  (punycode), and, when an IP address is listed, numbers (an IPv4 address may be written in
  decimal, octal or hex) and redirect wrappers (whose target may be a bare number);
- per link (:meth:`ListedHosts.might_list`): a link whose canonical host is known without
  canonicalising (written plainly) is skipped when none of its lookup hosts is listed.

Both only ever answer "cannot match" when the full lookup would find nothing;
tests/text/test_listed_hosts.py checks them against it on generated posts.
"""

from __future__ import annotations

import re

from safespace.text._extract import HIDDEN_COLON, HIDDEN_SLASHES, WRAPPERS

__all__ = ["ListedHosts"]

# A listed host the per-post check can reason about: lower-case ASCII labels, at least two.
_CHECKABLE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)+")
# Bytes that end a label in a text: every ASCII byte but letters, digits, "-" and "_".
_LABEL_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
_TO_SPACE = bytes(b if b in _LABEL_BYTES or b >= 0x80 else 0x20 for b in range(256))
# A word holding a letter that is not ASCII and a dot: maybe a host to write in punycode.
_NON_ASCII_NEAR_DOT = re.compile(r"[^\x00-\x7f]\S*\.|\.\S*[^\x00-\x7f]")
# Where an IPv4 address may be written: a host after a scheme, plain or hidden, that starts
# with a digit (http://3279880203/, https[:]//3279880203/, http[://]0xc37f000b/), or a run
# of labels whose last label starts with one (0x7f.1).
_NUMERIC_HOST = re.compile(
    rf"(?:(?::|{HIDDEN_COLON})//|{HIDDEN_SLASHES})(?:[^\s/?#@]*@)?\d"
    r"|[\w-]\.\d[\w-]*+(?!\.[\w-])"
)
# A redirect wrapper's target is read from its query string, where a bare number is an
# IPv4 address too (q=3279880203/page.html).
_WRAPPER_NEEDLES = tuple(
    sorted(
        {".".join(host.split(".")[-2:]) for host, _ in WRAPPERS if not host.endswith(".*")}
        | {host[:-1] for host, _ in WRAPPERS if host.endswith(".*")}
    )
)


def _first_label(host: str) -> bytes:
    """The label a post must hold as a word when ``host`` can match one of its links."""
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]  # a link to example.org is looked up as www.example.org too
    return host.partition(".")[0].encode("ascii", "replace")


class ListedHosts:
    """A multiset of listed hosts (an entry can be taken out again), with the first labels
    and counts the quick checks need."""

    __slots__ = ("_counts", "_first_labels", "_numeric", "_unchecked")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._first_labels: dict[bytes, int] = {}
        #: hosts the per-post check cannot reason about (no dot, upper case, IPv6, escapes)
        self._unchecked = 0
        #: hosts whose last label starts with a digit (IPv4 addresses)
        self._numeric = 0

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, host: object) -> bool:
        return host in self._counts

    def add(self, host: str) -> None:
        count = self._counts.get(host, 0)
        self._counts[host] = count + 1
        if not count:
            self._count(host, 1)

    def discard(self, host: str) -> None:
        count = self._counts.get(host, 0)
        if count > 1:
            self._counts[host] = count - 1
        elif count:
            del self._counts[host]
            self._count(host, -1)

    def _count(self, host: str, step: int) -> None:
        if _CHECKABLE.fullmatch(host) is None:
            self._unchecked += step
            return
        if host.rpartition(".")[2][:1].isdigit():
            self._numeric += step
        label = _first_label(host)
        left = self._first_labels.get(label, 0) + step
        if left:
            self._first_labels[label] = left
        else:
            del self._first_labels[label]

    def might_list(self, host: str) -> bool:
        """False when no lookup host of the canonical, non-IP ``host`` is listed: not the
        host, not ``www.`` in front of it, not its suffixes of two to five labels."""
        hosts = self._counts
        if host in hosts:
            return True
        if "." not in host:
            return False
        if not host.startswith("www.") and "www." + host in hosts:
            return True
        at = host.rfind(".")
        for _ in range(4):  # the suffixes of two, three, four and five labels
            at = host.rfind(".", 0, at)
            if at < 0:
                return False
            if host[at + 1 :] in hosts:
                return True
        return False

    def could_match_text(self, text: str) -> bool:
        """False only when no link in ``text`` can match a listed host.

        ``text`` is a post as written when it is all ASCII, else the post with its hiding
        undone (:func:`._extract.extract_urls` asks in that order): a post that is not ASCII
        may hide a label with characters that are dropped or folded on the way.
        """
        if not self._counts:
            return False
        if self._unchecked or "%" in text:
            return True
        if not text.isascii() and _NON_ASCII_NEAR_DOT.search(text):
            return True
        lower = text.lower()
        if self._numeric and (
            _NUMERIC_HOST.search(lower) or any(needle in lower for needle in _WRAPPER_NEEDLES)
        ):
            return True
        words = lower.encode("utf-8", "surrogatepass").translate(_TO_SPACE).split()
        return not self._first_labels.keys().isdisjoint(words)
